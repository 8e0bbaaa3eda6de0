"""Speed fixes to moto's DynamoDB for the local stack, the tests and the benches: a request costs what its items cost.

moto 5.2.5 (pinned) answers correctly, but does whole-table work for requests DynamoDB answers from one partition,
which made the local demo, the tests and the benches slow down as their tables grew. `speed_up_moto()` installs five
patches (idempotent; `--plain-moto` in the benches means "not installed"):

1. TransactWriteItems keeps an undo log instead of copying tables. moto backs a transaction up by deep-copying every
   table it touches, items and stream shard included (moto never trims stream records), so one transaction cost
   O(table): in-process, a 6-action transaction took 0.29 s at 1,000 items and 9 s at 20,000 (0.04 s and 1.3 s with
   one copy per table per transaction, the previous fix); now about 3 ms at both. The patch deep-copies only the items
   the transaction names (table + key: a Put's key from its Item and the table's key schema, the others' from Key)
   and notes each touched table's stream length; inside moto's models module `copy.deepcopy` hands a Table back
   itself during the transaction, so moto's backup costs nothing and its rollback assigns each table to itself. On
   any exception the logged items are put back (or removed if they did not exist), the stream records the transaction
   appended are dropped, and the exception propagates. moto's own code still runs every action, condition,
   cancellation reason and validation (duplicate keys, over 100 actions). Two differences, both towards DynamoDB: an
   action naming two operations, which moto rejects without undoing the actions before it, now writes nothing; and
   the table and its stream shard are never replaced, so a stream reader's shard iterator stays on the live shard
   (after moto's own rollback it kept reading the discarded copy).
2. Query reads only the partition asked for. moto's `Table.query` filters `all_items()`, which sorts every item of
   the table, on every page, for base-table and index queries alike. The patch hands moto's query code only the
   candidates: a base-table query gets `table.items[hash key]`; an index query gets the items whose value of the
   index's (first) hash attribute equals the queried one, from a per-table map of each index hash attribute's
   partitions. The map is built on a table's first index query (O(table), once: 0.5 s at 20,000 items) and kept in
   sync by every write path: Table.put_item and Table.delete_item (which BatchWriteItem, PartiQL and imports use),
   the backend's update_item (it mutates the Item in place and may add, change or remove the index key), and the
   transaction rollback. It lives on the Table
   object, so deleting or re-creating a table and /moto-api/reset (new backends, new tables) start afresh, and it is
   rebuilt if the table's items dict is replaced. moto still sorts, pages, filters and projects the (smaller)
   candidate list exactly as before: same order and tie-breaks, ScanIndexForward, Limit, ExclusiveStartKey and
   LastEvaluatedKey, 1 MB pages, FilterExpression, Select COUNT, key-condition checks. A Query at 20,000 items went
   from 70 ms to 4 ms (as at 1,000).
3. Isolation in the threaded moto server. The local stack runs moto's ThreadedMotoServer with several client threads
   (HTTP API handlers, the stream pump). One module-level reentrant lock (`LOCK`) is held across a transaction (and
   its rollback), Query, Scan, GetItem, single-item writes, stream reads and shard-iterator creation, so no request
   sees a transaction half-applied or a stream record that is then rolled back. (A moto Lambda event source mapping
   that wrote back to DynamoDB from inside a write would wait on the lock forever; OrderTrail uses its own stream
   pump, not moto's mappings.)
4. moto's server routes every request by listing (and statting) its own package folder, under a global lock; the
   folder never changes while a process runs, so it is listed once.
5. An UpdateItem that creates its item validates its expression once, not twice. moto validates it against an empty
   item (to fail before creating anything), stores the key-only item, then validates again against that; validation
   (ten passes over a deep copy of the expression) was about 85% of an UpdateItem, so a new order cost 3x a PutItem.
   The second validation is handed the first's result when the two cannot differ: the same expression, names and
   values, within the same UpdateItem, an item holding only its key, and an expression that names neither key
   attribute (the only attributes the two items differ in). Otherwise moto validates again, as before.

These touch moto internals: tests/unit/test_moto_patches.py guards them (rollback, conditions, validation, order,
paging and index membership against moto's own code, including a differential property test, and the per-partition
cost by spying on `Table.all_items` and Table deep copies).
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Reentrant: moto's transaction calls the (also locked) put, update and delete of each action.
LOCK = threading.RLock()

# (hash key, range key or None) of an item, as DynamoTypes: how moto files it in `table.items`.
Key = tuple[Any, Any]

_STATE = "_ordertrail_partitions"
_in_transaction = threading.local()
# Inside one patched UpdateItem: `active`, and the first validation of a new item's expression (see patch 5).
_new_item_update = threading.local()
# (owner, attribute, moto's original, replacement, whether it replaces moto's logic) of every installed patch.
_patches: list[tuple[Any, str, Any, Any, bool]] = []


class _TableKeepingCopy:
    """Stands in for the `copy` module inside moto's DynamoDB models: during a patched transaction a Table is not copied."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """The table itself inside a patched transaction (the undo log restores what changed); a real deep copy otherwise."""
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        """Everything else is the real `copy` module."""
        return getattr(copy, name)


class _Partitions:
    """A table's items grouped by their value of one index hash attribute: the candidates of an index Query."""

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute
        self.groups: dict[Any, dict[Key, Any]] = {}
        self.value_of: dict[Key, Any] = {}

    def place(self, key: Key, item: Any) -> None:
        """File the item now stored at `key` (None: no item) under its current value of the attribute."""
        old = self.value_of.pop(key, None)
        if old is not None:
            group = self.groups[old]
            del group[key]
            if not group:
                del self.groups[old]
        value = item.attrs.get(self.attribute) if item is not None else None
        if value is None:
            return
        from moto.dynamodb.models.dynamo_type import DynamoType

        # A copy: the item's own DynamoType could be changed in place by a later update, and it is a dict key here.
        value = DynamoType(value)
        try:
            group = self.groups.setdefault(value, {})
        except TypeError:
            # A set, list or map: never equal to a key value (equality needs the same type), so no index query matches it.
            return
        group[key] = item
        self.value_of[key] = value


class _TableState:
    """The partition maps of one table, valid for one `table.items` dict."""

    def __init__(self, items: Any) -> None:
        self.items = items
        self.by_attribute: dict[str, _Partitions] = {}


def _valid_state(table: Any) -> _TableState | None:
    """The table's maps if they still describe its items."""
    state: _TableState | None = table.__dict__.get(_STATE)
    if state is None or state.items is not table.items:
        return None
    return state


def _stored_items(table: Any) -> Iterator[tuple[Key, Any]]:
    """Every (key, item) of the table, unsorted (not `all_items`, which sorts the table)."""
    from moto.dynamodb.models.dynamo_type import Item

    for hash_key, slot in table.items.items():
        if table.range_key_attr is None:
            if isinstance(slot, Item):
                yield (hash_key, None), slot
        else:
            for range_key, item in slot.items():
                yield (hash_key, range_key), item


def _partitions(table: Any, attribute: str) -> _Partitions:
    """The table's partitions by `attribute`, built on first use."""
    state = _valid_state(table)
    if state is None:
        state = _TableState(table.items)
        setattr(table, _STATE, state)
    partitions = state.by_attribute.get(attribute)
    if partitions is None:
        partitions = _Partitions(attribute)
        for key, item in _stored_items(table):
            partitions.place(key, item)
        state.by_attribute[attribute] = partitions
    return partitions


def _stored(table: Any, key: Key) -> Any:
    """The item stored at `key`, or None (without creating a partition in moto's defaultdict)."""
    from moto.dynamodb.models.dynamo_type import Item

    hash_key, range_key = key
    slot = table.items.get(hash_key)
    if table.range_key_attr is None:
        return slot if isinstance(slot, Item) else None
    return slot.get(range_key) if isinstance(slot, dict) else None


def _table_key(table: Any, hash_value: Any, range_value: Any) -> Key | None:
    """The key as the table files it, or None if these values cannot name one of its items."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.range_key_attr is not None and range_value is None:
        return None
    try:
        key = (DynamoType(hash_value), DynamoType(range_value) if table.range_key_attr is not None else None)
        hash(key)
    except Exception:
        return None
    return key


def _reindex(table: Any, key: Key | None) -> None:
    """After a write at `key`: re-file whatever is stored there now in the table's maps (if it has any)."""
    state = _valid_state(table)
    if state is None or key is None or not state.by_attribute:
        return
    item = _stored(table, key)
    for partitions in state.by_attribute.values():
        partitions.place(key, item)


class _UndoLog:
    """What a transaction can change, recorded before it runs: its items (deep copies) and its tables' stream lengths."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        # (id(table), key) → (table, key, copy of the item or None, whether its hash partition existed)
        self.items: dict[tuple[int, Key], tuple[Any, Key, Any, bool]] = {}
        # id(table) → (stream shard, its records list, its length)
        self.streams: dict[int, tuple[Any, list[Any], int]] = {}
        for action in transact_items:
            target = _target(backend, action)
            if target is None:
                continue
            table, key = target
            shard = table.stream_shard
            if shard is not None and id(table) not in self.streams:
                self.streams[id(table)] = (shard, shard.items, len(shard.items))
            if (id(table), key) not in self.items:
                self.items[(id(table), key)] = (table, key, copy.deepcopy(_stored(table, key)), key[0] in table.items)

    def restore(self) -> None:
        """Put every logged item back as it was and drop the stream records appended since."""
        for table, key, saved, partition_existed in self.items.values():
            hash_key, range_key = key
            if table.range_key_attr is None:
                if saved is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = saved
            elif saved is not None:
                table.items[hash_key][range_key] = saved
            else:
                partition = table.items.get(hash_key)
                if partition is not None:
                    partition.pop(range_key, None)
                    # A partition the transaction created would not survive moto's rollback either.
                    if not partition and not partition_existed:
                        del table.items[hash_key]
            _reindex(table, key)
        for shard, records, length in self.streams.values():
            del records[length:]
            shard.items = records


def _target(backend: Any, action: Any) -> tuple[Any, Key] | None:
    """The (table, key) a transaction action may write, as moto will resolve it; None if it cannot write anything."""
    try:
        if not isinstance(action, dict) or len(action) != 1:
            return None  # moto rejects it before writing
        op_type, op = next(iter(action.items()))
        if op_type not in {"Put", "Update", "Delete"}:
            return None  # a ConditionCheck writes nothing; anything else is an error
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            attrs = op["Item"]
            range_value = attrs[table.range_key_attr] if table.range_key_attr is not None else None
            key = _table_key(table, attrs[table.hash_key_attr], range_value)
        else:
            key = _table_key(table, *backend.get_keys_value(table, op["Key"]))
    except Exception:
        return None  # moto fails this action before it writes
    return (table, key) if key is not None else None


def _locked(original: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, run while holding LOCK."""

    @functools.wraps(original)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return original(*args, **kwargs)

    return locked


def _transact_write_items(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap TransactWriteItems: an undo log instead of whole-table copies."""

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with LOCK:
            undo = _UndoLog(self, transact_items)
            _in_transaction.active = True
            try:
                original(self, transact_items)
            except BaseException:
                undo.restore()
                raise
            finally:
                _in_transaction.active = False

    return transact_write_items


def _table_put_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap Table.put_item: keep the partition maps in sync."""

    @functools.wraps(original)
    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            try:
                return original(self, item_attrs, *args, **kwargs)
            finally:
                key = None
                if isinstance(item_attrs, dict) and self.hash_key_attr in item_attrs:
                    key = _table_key(self, item_attrs[self.hash_key_attr], item_attrs.get(self.range_key_attr or ""))
                _reindex(self, key)

    return put_item


def _table_delete_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap Table.delete_item: keep the partition maps in sync."""

    @functools.wraps(original)
    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        with LOCK:
            try:
                return original(self, hash_key, range_key)
            finally:
                _reindex(self, _table_key(self, hash_key, range_key))

    return delete_item


def _backend_update_item(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap DynamoDBBackend.update_item (it changes the Item in place): keep the partition maps in sync."""

    @functools.wraps(original)
    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            # Saved and restored: a transaction's Update action calls this again from inside moto.
            outer = getattr(_new_item_update, "active", False), getattr(_new_item_update, "first", None)
            _new_item_update.active, _new_item_update.first = True, None
            try:
                return original(self, table_name, key, *args, **kwargs)
            finally:
                _new_item_update.active, _new_item_update.first = outer
                # Even on failure: an update can create the item, or change it, before it fails.
                try:
                    table = self.get_table(table_name)
                except Exception:
                    table = None
                if table is not None and isinstance(key, dict) and table.hash_key_attr in key:
                    _reindex(table, _table_key(table, key[table.hash_key_attr], key.get(table.range_key_attr or "")))

    return update_item


def _attribute_names(node: Any, names: dict[str, str]) -> Iterator[str | None]:
    """Every attribute name an update expression's AST mentions (None for a #placeholder without a name)."""
    from moto.dynamodb.parsing.ast_nodes import ExpressionAttribute, ExpressionAttributeName, Node  # type: ignore[attr-defined]  # untyped in moto

    if isinstance(node, ExpressionAttribute):
        yield node.get_attribute_name()
    elif isinstance(node, ExpressionAttributeName):
        yield names.get(node.get_attribute_name_placeholder())
    for child in getattr(node, "children", None) or []:
        if isinstance(child, Node):
            yield from _attribute_names(child, names)


def _update_expression_validator(original: type) -> type:
    """Wrap moto's UpdateExpressionValidator: reuse a new item's first validation for its second (patch 5)."""

    class ValidatingANewItemOnce(original):
        """Validates as moto's does, except the repeat validation of a new item's unchanged expression."""

        def __init__(
            self, expression: Any, expression_attribute_names: Any, expression_attribute_values: Any, item: Any, table: Any
        ) -> None:
            self._reused = None
            self._first = None
            if getattr(_new_item_update, "active", False):
                first = _new_item_update.first
                key_names = {name for name in (table.hash_key_attr, table.range_key_attr) if name}
                arguments = (expression, expression_attribute_names, expression_attribute_values, table)
                if first is not None and all(a is b for a, b in zip(first[0], arguments, strict=True)) and set(item.attrs) == key_names:
                    _new_item_update.first = None
                    self._reused = first[1]
                    return  # moto's __init__ only deep-copies the expression for the validation that is skipped
                named = set(_attribute_names(expression, expression_attribute_names or {}))
                if not item.attrs and None not in named and not named & key_names:
                    self._first = arguments
            super().__init__(expression, expression_attribute_names, expression_attribute_values, item, table)

        def validate(self) -> Any:
            """The first validation's result for the repeat, else moto's validation (remembered for a new item's repeat)."""
            if self._reused is not None:
                return self._reused
            validated = super().validate()
            if self._first is not None:
                _new_item_update.first = (self._first, validated)
            return validated

    ValidatingANewItemOnce.__name__ = ValidatingANewItemOnce.__qualname__ = original.__name__
    return ValidatingANewItemOnce


def _all_items_order(item: Any) -> Any:
    """The sort key of moto's `Table.all_items`."""
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def _query_candidates(table: Any, arguments: dict[str, Any]) -> list[Any] | None:
    """The items a Query can return, in `all_items` order; None: let moto read the whole table, as unpatched.

    (None when moto will raise, or when no condition names the index's hash attribute and moto matches every item.)
    """
    from moto.dynamodb.models.dynamo_type import Item

    hash_key = arguments.get("hash_key")
    index_name = arguments.get("index_name")
    if not index_name:
        if hash_key is None:
            return None
        try:
            slot = table.items.get(hash_key)
        except TypeError:
            return None
        if table.range_key_attr is None:
            return [slot] if isinstance(slot, Item) else []
        candidates = list(slot.values()) if isinstance(slot, dict) else []
    else:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        if index is None:
            return None
        hash_attributes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        if not hash_attributes:
            return None
        # moto's index query keeps the items whose every hash attribute equals its condition: the first one is enough.
        wanted = dict(arguments.get("hash_key_conditions") or []).get(hash_attributes[0])
        if wanted is None:
            return None
        partitions = _partitions(table, hash_attributes[0])
        try:
            candidates = list(partitions.groups.get(wanted, {}).values())
        except TypeError:
            return None
    candidates.sort(key=_all_items_order)
    return candidates


class _CandidatesForThisThread:
    """Stands in for a table's `all_items` during one query: the candidates in the querying thread, the table elsewhere."""

    def __init__(self, table: Any, candidates: list[Any]) -> None:
        self.table = table
        self.candidates = candidates
        self.thread = threading.get_ident()

    def __call__(self) -> list[Any]:
        """The candidates (or every item, for another thread)."""
        if threading.get_ident() == self.thread:
            return self.candidates
        result: list[Any] = type(self.table).all_items(self.table)
        return result


def _table_query(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap Table.query: run moto's query on the queried partition instead of the whole table."""
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            try:
                arguments = signature.bind(self, *args, **kwargs).arguments
            except TypeError:
                return original(self, *args, **kwargs)
            candidates = _query_candidates(self, arguments)
            if candidates is None:
                return original(self, *args, **kwargs)
            self.all_items = _CandidatesForThisThread(self, candidates)
            try:
                return original(self, *args, **kwargs)
            finally:
                del self.all_items

    return query


def _listed_once(original: Callable[[], Any]) -> Callable[[], tuple[str, ...]]:
    """The list of moto's services, made once: its server lists (and stats) its package folder to route every request."""
    modules = tuple(original())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    return list_of_moto_modules


def speed_up_moto() -> None:
    """Install the undo-log transactions, partition-scoped queries, single validation and the lock into moto's DynamoDB (idempotent)."""
    from moto import backends
    from moto.dynamodb import models
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    with LOCK:
        if _patches:
            return
        backend = models.DynamoDBBackend
        # The last field: replaces moto's logic (the rest only lock, or keep the partition maps, around moto's code).
        wanted: list[tuple[Any, str, Callable[[Any], Any], bool]] = [
            (backend, "transact_write_items", _transact_write_items, True),
            (models, "copy", lambda _original: _TableKeepingCopy(), True),
            (Table, "query", _table_query, True),
            (backend, "update_item", _backend_update_item, False),
            (models, "UpdateExpressionValidator", _update_expression_validator, True),
            (backend, "get_item", _locked, False),
            (Table, "put_item", _table_put_item, False),
            (Table, "delete_item", _table_delete_item, False),
            (Table, "scan", _locked, False),
            (StreamShard, "get", _locked, False),
            (DynamoDBStreamsBackend, "get_shard_iterator", _locked, False),
            (backends, "list_of_moto_modules", _listed_once, True),
        ]
        for owner, name, patch, replaces_logic in wanted:
            original = getattr(owner, name)
            replacement = patch(original)
            _patches.append((owner, name, original, replacement, replaces_logic))
            setattr(owner, name, replacement)


@contextmanager
def unpatched() -> Iterator[None]:
    """Inside the block moto's own transaction and query code runs (tests compare against it); the patches return after.

    The lock and the map upkeep around writes stay (they do not change what moto does), so the maps stay true.
    """
    for owner, name, original, _, replaces_logic in _patches:
        if replaces_logic:
            setattr(owner, name, original)
    try:
        yield
    finally:
        for owner, name, _, replacement, replaces_logic in _patches:
            if replaces_logic:
                setattr(owner, name, replacement)
