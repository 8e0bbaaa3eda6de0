"""The state machines as template.yaml declares them: their definition files, `${Key}` substitutions and task functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ordertrail_local import template as tpl

STATE_MACHINE = "ExportConversionsStateMachine"
IMPORT_STATE_MACHINE = "ImportHistoryStateMachine"
REATTRIBUTE_STATE_MACHINE = "ReattributeOrdersStateMachine"
SERVERLESS_STATE_MACHINE = "AWS::Serverless::StateMachine"

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def state_machines_of(template: Mapping[str, Any]) -> list[str]:
    """The logical ids of the template's state machines, the export's first (it is the default everywhere)."""
    names = [name for name, resource in template.get("Resources", {}).items() if resource.get("Type") == SERVERLESS_STATE_MACHINE]
    return sorted(names, key=lambda name: (name != STATE_MACHINE, name))


def placeholders(definition: str) -> set[str]:
    """Every `${Key}` named in a definition text."""
    return set(_PLACEHOLDER.findall(definition))


def fill_placeholders(definition: str, values: Mapping[str, str]) -> str:
    """Replace every `${Key}` with values[Key], as CloudFormation does; a key without a value is an error."""
    missing = placeholders(definition) - set(values)
    if missing:
        raise KeyError(f"DefinitionSubstitutions has no value for {sorted(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), definition)


def definition_path(template: Mapping[str, Any], state_machine: str = STATE_MACHINE, root: Path | None = None) -> Path:
    """The state machine's DefinitionUri as a path (relative ones resolved against root, default the repository)."""
    uri = tpl.resource_properties(template, state_machine).get("DefinitionUri")
    if not isinstance(uri, str):
        raise TypeError(f"{state_machine} has no local DefinitionUri (a file path)")
    path = Path(uri)
    return path if path.is_absolute() else (root or tpl.repo_root()) / path


def substitution_targets(template: Mapping[str, Any], state_machine: str = STATE_MACHINE) -> dict[str, str]:
    """DefinitionSubstitutions as key -> the logical id of the function whose ARN it is (!GetAtt X.Arn or !Ref X)."""
    targets: dict[str, str] = {}
    for key, value in (tpl.resource_properties(template, state_machine).get("DefinitionSubstitutions") or {}).items():
        logical_id: str | None = None
        if isinstance(value, dict):
            get_att = value.get("Fn::GetAtt")
            if isinstance(get_att, list) and len(get_att) == 2 and get_att[1] == "Arn":
                logical_id = str(get_att[0])
            elif isinstance(value.get("Ref"), str):
                logical_id = str(value["Ref"])
        if logical_id is None or template["Resources"].get(logical_id, {}).get("Type") != tpl.SERVERLESS_FUNCTION:
            raise ValueError(f"{state_machine}: substitution {key!r} is not the ARN of a function of the template: {value!r}")
        targets[str(key)] = logical_id
    return targets


def filled_definition(
    template: Mapping[str, Any], function_arns: Mapping[str, str], state_machine: str = STATE_MACHINE, root: Path | None = None
) -> str:
    """The definition text with every substitution filled from the ARN of the function it names (by logical id)."""
    values = {key: function_arns[logical_id] for key, logical_id in substitution_targets(template, state_machine).items()}
    return fill_placeholders(definition_path(template, state_machine, root).read_text(encoding="utf-8"), values)


__all__ = [
    "IMPORT_STATE_MACHINE",
    "REATTRIBUTE_STATE_MACHINE",
    "SERVERLESS_STATE_MACHINE",
    "STATE_MACHINE",
    "definition_path",
    "fill_placeholders",
    "filled_definition",
    "placeholders",
    "state_machines_of",
    "substitution_targets",
]
