"""JSON Schema export of every event, and the check that a change stays compatible.

The committed export (``schemas/jsonschema/<ce_type>.json``) is the published contract of
that event version.  Adding an optional field is compatible; removing a field, changing its
type, making an optional field required or dropping an enum value is not: publish a new event
version (``...v2``) instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.cloudevents import EVENT_TYPES

EXPORT_DIR = Path(__file__).resolve().parent / "jsonschema"

Schema = dict[str, Any]


def event_schemas() -> dict[str, Schema]:
    """ce_type -> JSON Schema (draft 2020-12) of the event body."""
    exported: dict[str, Schema] = {}
    for ce_type, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:buursignaal:event:{ce_type}"
        exported[ce_type] = schema
    return exported


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def committed_schemas(directory: Path = EXPORT_DIR) -> dict[str, Schema]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Schema = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        return resolved
    return schema


def _signature(schema: Schema, root: Schema) -> Any:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return ("anyOf", frozenset(_signature(option, root) for option in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "array":
        return ("array", _signature(schema.get("items", {}), root))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return ("map", _signature(schema["additionalProperties"], root))
    if kind == "object" or "properties" in schema:
        return ("object", schema.get("title"))
    return (kind, schema.get("format"))


def _widened(old: Any, new: Any) -> bool:
    """True when ``new`` accepts everything ``old`` did (e.g. a type became optional)."""
    new_options = new[1] if new[0] == "anyOf" else frozenset({new})
    old_options = old[1] if old[0] == "anyOf" else frozenset({old})
    return bool(old_options <= new_options)


def breaking_changes(old: Schema, new: Schema, *, where: str = "") -> list[str]:
    """Describe every incompatible difference from ``old`` to ``new`` (empty when compatible)."""
    return _compare(old, new, old_root=old, new_root=new, where=where or old.get("title", ""))


def _compare(
    old: Schema, new: Schema, *, old_root: Schema, new_root: Schema, where: str
) -> list[str]:
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    problems: list[str] = []
    if "enum" in old:
        removed = sorted(set(map(str, old["enum"])) - set(map(str, new.get("enum", []))))
        if removed:
            problems.append(f"{where}: enum values removed: {', '.join(removed)}")
    old_props: dict[str, Schema] = old.get("properties", {})
    new_props: dict[str, Schema] = new.get("properties", {})
    for name, old_field in old_props.items():
        path = f"{where}.{name}"
        if name not in new_props:
            problems.append(f"{path}: field removed")
            continue
        new_field = new_props[name]
        old_sig = _signature(old_field, old_root)
        new_sig = _signature(new_field, new_root)
        if old_sig != new_sig and not _widened(old_sig, new_sig):
            problems.append(f"{path}: type changed from {old_sig} to {new_sig}")
            continue
        problems.extend(
            _compare(
                _items(old_field, old_root),
                _items(new_field, new_root),
                old_root=old_root,
                new_root=new_root,
                where=path,
            )
        )
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{where}.{name}: field became required")
    return problems


def _items(schema: Schema, root: Schema) -> Schema:
    """The object or enum schema behind a field (through optional and array wrappers)."""
    schema = _resolve(schema, root)
    for option in schema.get("anyOf", []):
        option = _resolve(option, root)
        if option.get("type") != "null":
            return _items(option, root)
    if schema.get("type") == "array":
        return _items(schema.get("items", {}), root)
    return schema


def check_exports(directory: Path = EXPORT_DIR) -> tuple[list[str], list[str]]:
    """(breaking changes, stale files) of the current models against the committed export."""
    committed = committed_schemas(directory)
    current = event_schemas()
    breaking: list[str] = []
    stale: list[str] = []
    for ce_type, schema in current.items():
        if ce_type not in committed:
            stale.append(f"{ce_type}: not exported yet")
            continue
        breaking.extend(breaking_changes(committed[ce_type], schema, where=ce_type))
        if render(committed[ce_type]) != render(schema):
            stale.append(f"{ce_type}: export differs from the model")
    for ce_type in committed.keys() - current.keys():
        breaking.append(f"{ce_type}: event version removed (consumers may still read it)")
    return breaking, stale


def write_exports(directory: Path = EXPORT_DIR) -> list[Path]:
    """Write the export; refuses (ValueError) when the change is incompatible."""
    breaking, _ = check_exports(directory) if directory.exists() else ([], [])
    if breaking:
        raise ValueError(
            "incompatible change to a published event; publish a new version instead:\n  "
            + "\n  ".join(breaking)
        )
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ce_type, schema in event_schemas().items():
        path = directory / f"{ce_type}.json"
        path.write_text(render(schema))
        written.append(path)
    return written
