"""Benchmark (not a test): whole-process cold import time of each Lambda handler module against its floor imports.

Run `make bench` (or `.venv/bin/python bench/cold_import.py --json`; `--rounds N`). Every handler module of
template.yaml's functions (their CodeUri and Handler; functions sharing a module are measured once) is imported in a
fresh process of .venv's Python (3.13, the Lambda runtime) the way Lambda does: the function's folder first on the
path, then the layer (`layers/attribution`, /opt/python on Lambda), the environment of Globals and the function's own
Environment with dummy values (Refs to parameters take their defaults), so that the import runs offline. The time is
the whole process's wall time (time.perf_counter around subprocess.run): interpreter start, imports and exit.

The floor is a process in the same environment that imports only what any handler of its kind needs (FLOORS below):
boto3, Powertools' Logger and Metrics, pydantic, and for an HTTP route Powertools' APIGatewayHttpResolver, for a
stream consumer its BatchProcessor, for the HTTP API's authorizer its event and response data classes. Each round
runs, per handler, its floor and the handler back to back, floor first in one round and the handler first in the next
(and the handlers in reversed order every other round), so that load on the shared machine falls on both alike; one
unrecorded warm-up round fills the OS file cache. The figure is the median per handler and the ratio of the medians.

The layer and the functions are precompiled first (`python -m compileall -q -j0`, as `make build` does on the build
output), so that writing bytecode is not measured. Timestamp invalidation here, not `make build`'s unchecked-hash:
this is the working tree, and unchecked pyc files would hide later edits from the tests. Target (issue 11, item 5):
each handler at most 1.3x its floor; the run exits 1 when one misses it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offline import ROOT, use_repository_code

TARGET_RATIO = 1.3
DEFAULT_ROUNDS = 9
LAYER_DIR = ROOT / "layers" / "attribution"
PYTHON = ROOT / ".venv" / "bin" / "python"
# What Lambda has beside the function: the layer's requirements (/opt/python) and the runtime's boto3 (/var/runtime).
RUNTIME_PACKAGES = ("boto3",)
COMMON = ("import boto3", "from pydantic import BaseModel", "from aws_lambda_powertools import Logger, Metrics")
# What a handler of each kind cannot do without: the floor its cold import is compared with.
FLOORS: dict[str, tuple[str, ...]] = {
    "http": (*COMMON, "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"),
    "stream": (*COMMON, "from aws_lambda_powertools.utilities.batch import BatchProcessor"),
    "authorizer": (
        *COMMON,
        "from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import "
        "APIGatewayAuthorizerEventV2, APIGatewayAuthorizerResponseV2",
    ),
    "task": COMMON,  # schedules and state-machine steps: plain events
}
# A module shared by functions of different kinds is compared with the floor of the first kind here.
KIND_ORDER = ("http", "authorizer", "stream", "task")
# What Lambda itself sets, and dummy credentials: nothing reaches AWS while importing.
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "LANG": "C.UTF-8",
}


@dataclass
class Handler:
    """One handler module: its code folder, the template functions it serves, their kind and environment."""

    code_dir: str
    module: str
    functions: list[str] = field(default_factory=list)
    entry_points: list[str] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The folder's name (functions/<name>)."""
        return Path(self.code_dir).name

    @property
    def kind(self) -> str:
        """The kind whose floor this module is compared with."""
        return next(kind for kind in KIND_ORDER if kind in self.kinds)


def load_template() -> dict[str, Any]:
    """template.yaml, read by the local stack's loader (CloudFormation tags as long-form dicts)."""
    use_repository_code()
    from ordertrail_local.template import load_template as load  # the local stack is on the path only after the line above

    return load(ROOT / "template.yaml")


def dummy_value(name: str, value: Any, parameters: Mapping[str, Any]) -> str:
    """An environment value usable offline: literals as they are, a parameter's default, else a stand-in for a resource."""
    if isinstance(value, str | int | float | bool):
        return str(value)
    ref = value.get("Ref") if isinstance(value, dict) else None
    if isinstance(ref, str) and ref in parameters:
        return str((parameters[ref] or {}).get("Default", ""))
    target = ref if isinstance(ref, str) else "resource"
    if name.endswith("_ARN"):
        return f"arn:aws:states:us-east-1:123456789012:stateMachine:bench-{target}"
    return f"bench-{target}".lower()


def authorizer_functions(template: Mapping[str, Any]) -> set[str]:
    """Logical ids of the functions behind the HTTP APIs' Lambda authorizers."""
    found = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        for config in ((resource.get("Properties") or {}).get("Auth") or {}).get("Authorizers", {}).values():
            arn = config.get("FunctionArn")
            if isinstance(arn, dict) and isinstance(arn.get("Fn::GetAtt"), list):
                found.add(str(arn["Fn::GetAtt"][0]))
    return found


def kind_of(function: str, properties: Mapping[str, Any], authorizers: set[str]) -> str:
    """Http (HttpApi events), authorizer, stream (a DynamoDB event), else task (schedules, state-machine steps)."""
    events = {event.get("Type") for event in (properties.get("Events") or {}).values()}
    if "HttpApi" in events:
        return "http"
    if function in authorizers:
        return "authorizer"
    if "DynamoDB" in events:
        return "stream"
    return "task"


def handlers(template: Mapping[str, Any]) -> list[Handler]:
    """Every handler module of the template's functions, in template order, with the union of their environments."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    parameters = template.get("Parameters") or {}
    authorizers = authorizer_functions(template)
    found: dict[tuple[str, str], Handler] = {}
    for function, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties") or {}
        code_dir = str(properties.get("CodeUri", globals_.get("CodeUri"))).rstrip("/")
        module, _, entry_point = str(properties.get("Handler") or globals_.get("Handler") or "app.lambda_handler").rpartition(".")
        handler = found.setdefault((code_dir, module), Handler(code_dir, module))
        handler.functions.append(function)
        handler.entry_points.append(entry_point)
        handler.kinds.add(kind_of(function, properties, authorizers))
        for source in (globals_, properties):
            for name, value in ((source.get("Environment") or {}).get("Variables") or {}).items():
                handler.env[name] = dummy_value(name, value, parameters)
    return list(found.values())


def layer_requirements() -> list[str]:
    """The distributions layers/attribution/requirements.txt names (sam build installs them into the layer)."""
    lines = (LAYER_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0] for line in lines if line.strip() and not line.startswith("#")]


def closure(names: list[str]) -> list[Any]:
    """The installed distributions these names need, their own requirements included (extras left out)."""
    from importlib import metadata

    found: dict[str, Any] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = dist
        pending += [re.split(r"[<>=!~;\[ (]", req, maxsplit=1)[0] for req in dist.requires or [] if "extra ==" not in req]
    return list(found.values())


def lambda_site(into: Path) -> Path:
    """A folder of links to only what Lambda would have installed, so no dev dependency of .venv is scanned or found.

    It matters: pydantic looks its plugins up in every installed distribution's entry points when it builds the first
    model, and .venv holds the test and lint tools too, which would add a cost that Lambda does not have.
    """
    for dist in closure([*layer_requirements(), *RUNTIME_PACKAGES]):
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (into / top).exists() and top != "__pycache__" and not top.endswith(".pth"):
                (into / top).symlink_to(source)
    return into


def process_env(handler: Handler, site: Path) -> dict[str, str]:
    """A clean environment (nothing of this shell's PYTHONPATH): Lambda's own variables, the template's, the path."""
    path = os.pathsep.join([str(ROOT / handler.code_dir), str(LAYER_DIR), str(site)])
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **LAMBDA_ENV, **handler.env, "PYTHONPATH": path}


def handler_code(handler: Handler) -> str:
    """What the process runs: import the module as Lambda's bootstrap does and look its entry points up."""
    lookups = "; ".join(f"getattr(m, {entry!r})" for entry in dict.fromkeys(handler.entry_points))
    return f"import importlib; m = importlib.import_module({handler.module!r}); {lookups}"


def floor_code(kind: str) -> str:
    """What the floor process runs: only the imports of FLOORS[kind]."""
    return "; ".join(FLOORS[kind])


def run_once(code: str, handler: Handler, site: Path) -> float:
    """Seconds of one whole process that runs `code` from the handler's folder in its environment; raises when it fails.

    `-S`: no site-packages of .venv (the Lambda-like `site` is on PYTHONPATH instead), for the floor and handler alike.
    """
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 -- our own interpreter and code
        [str(PYTHON), "-S", "-c", code],
        cwd=ROOT / handler.code_dir,
        env=process_env(handler, site),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{handler.name}: {code!r} failed:\n{done.stderr}")
    return elapsed


def precompile() -> None:
    """Write the bytecode of the layer and the functions, as `make build` does, so compiling is not measured."""
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", "-j0", str(LAYER_DIR), str(ROOT / "functions")], check=True)  # noqa: S603


def measure(found: list[Handler], rounds: int, site: Path) -> list[dict[str, Any]]:
    """Per handler: the median seconds of its import and of its floor over `rounds` interleaved rounds (plus a warm-up)."""
    times: dict[str, dict[str, list[float]]] = {h.name: {"handler": [], "floor": []} for h in found}
    for number in range(rounds + 1):
        order = found if number % 2 == 0 else list(reversed(found))
        for position, handler in enumerate(order):
            pair = [("floor", floor_code(handler.kind)), ("handler", handler_code(handler))]
            if (number + position) % 2:
                pair.reverse()
            for side, code in pair:
                elapsed = run_once(code, handler, site)
                if number:  # round 0 warms the file cache
                    times[handler.name][side].append(elapsed)
    rows = []
    for handler in found:
        handler_s = statistics.median(times[handler.name]["handler"])
        floor_s = statistics.median(times[handler.name]["floor"])
        rows.append(
            {
                "handler": handler.name,
                "functions": handler.functions,
                "kind": handler.kind,
                "handler_ms": round(handler_s * 1000, 1),
                "floor_ms": round(floor_s * 1000, 1),
                "ratio": round(handler_s / floor_s, 3),
                "met": handler_s / floor_s <= TARGET_RATIO,
            }
        )
    return rows


def python_version() -> str:
    """The version of the interpreter the handlers are imported with."""
    code = "import sys; print(sys.version.split()[0])"
    return subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603


def print_table(result: Mapping[str, Any]) -> None:
    """The figures as a table, then the target's verdict."""
    print(f"Cold import, whole process, median of {result['rounds']} interleaved rounds (Python {result['python']}, {result['date']})")
    print(f"{'handler':<20} {'kind':<11} {'handler ms':>10} {'floor ms':>9} {'ratio':>6}  target")
    for row in result["rows"]:
        verdict = "met" if row["met"] else "MISSED"
        print(f"{row['handler']:<20} {row['kind']:<11} {row['handler_ms']:>10.1f} {row['floor_ms']:>9.1f} {row['ratio']:>5.2f}x  {verdict}")
    print("\nFloors:")
    for kind, imports in FLOORS.items():
        print(f"  {kind:<11} {'; '.join(imports)}")
    missed = [row["handler"] for row in result["rows"] if not row["met"]]
    print(f"\nTarget: each handler <= {TARGET_RATIO}x its floor: " + (f"MISSED by {', '.join(missed)}" if missed else "met"))


def main() -> None:
    """Precompile, measure every handler against its floor, print the table (or one JSON object); exit 1 on a miss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"interleaved rounds; the median counts (default {DEFAULT_ROUNDS})"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    found = handlers(load_template())
    precompile()
    with tempfile.TemporaryDirectory(prefix="ordertrail-lambda-site-") as site:
        rows = measure(found, args.rounds, lambda_site(Path(site)))
    result = {
        "date": datetime.now(UTC).date().isoformat(),
        "python": python_version(),
        "rounds": args.rounds,
        "target_ratio": TARGET_RATIO,
        "floors": {kind: list(imports) for kind, imports in FLOORS.items()},
        "rows": rows,
        "missed": [row["handler"] for row in rows if not row["met"]],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    sys.exit(1 if result["missed"] else 0)


if __name__ == "__main__":
    main()
