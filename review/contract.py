"""The API contract of BASE and HEAD: the JSON schemas of the ride model, compared for breaking changes.

The models are the pydantic models that `lambdas/shared/ride.py` defines (its `__all__`): what the
API accepts (validation schema) and what is produced from them (serialization schema: the message
subscribers read). Each side is exported in a subprocess with that side's lambdas/ first on the path,
so BASE's model is read from BASE's code.

Breaking for what a model accepts: a field removed, made required (or added as required), its type
narrowed (fewer JSON types or enum values) or a constraint tightened (a lower maximum, a higher
minimum, a new pattern), unknown fields newly rejected. Breaking for what it produces: a field
removed, no longer required, or its type widened. Everything else that changed is listed as compatible.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.tools import ROOT

CONTRACT_MODULE = "shared.ride"
_RAISES = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties", "multipleOf")
_LOWERS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


@dataclass(frozen=True, kw_only=True)
class ContractChanges:
    breaking: tuple[str, ...] = ()
    compatible: tuple[str, ...] = ()
    note: str = ""  # why there is nothing to compare, if so

    def as_dict(self) -> dict[str, Any]:
        return {"breaking": list(self.breaking), "compatible": list(self.compatible), "note": self.note}


def export_schemas(lambdas_dir: Path) -> dict[str, Any]:
    """{model: {"accepts": schema, "produces": schema}} for the models the contract module defines."""
    from pydantic import BaseModel

    sys.path.insert(0, str(lambdas_dir))
    module = importlib.import_module(CONTRACT_MODULE)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    models = [getattr(module, n) for n in names if isinstance(getattr(module, n, None), type)]
    return {m.__name__: {"accepts": m.model_json_schema(mode="validation"),
                         "produces": m.model_json_schema(mode="serialization")}
            for m in models if issubclass(m, BaseModel) and m.__module__ == module.__name__}


def read_contract(project: Path, *, python: Path) -> tuple[dict[str, Any] | None, str]:
    """The project's contract schemas (exported in a subprocess), or None and the reason."""
    lambdas = project / "lambdas"
    if not (lambdas / Path(*CONTRACT_MODULE.split("."))).with_suffix(".py").is_file():
        return None, f"no {CONTRACT_MODULE} model under {lambdas.name}/"
    result = subprocess.run([str(python), "-m", "review.contract", str(lambdas.resolve())], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
        return None, f"could not export the model: {lines[-1].strip()}"
    return json.loads(result.stdout), ""


# --- comparison -----------------------------------------------------------------------------------------
def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        schema = {**defs.get(schema["$ref"].split("/")[-1], {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _atoms(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """What JSON a schema admits, coarsely: JSON types, and single values for enums and consts."""
    schema = _resolve(schema, defs)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        return set().union(*(_atoms(v, defs) for v in variants))
    if "const" in schema:
        return {f"={json.dumps(schema['const'])}"}
    if "enum" in schema:
        return {f"={json.dumps(v)}" for v in schema["enum"]}
    kinds = schema.get("type")
    if kinds is None:
        return {"object"} if "properties" in schema else {"any"}
    return set(kinds) if isinstance(kinds, list) else {kinds}


def _json_type(value_atom: str) -> str:
    value = json.loads(value_atom[1:])
    return {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null",
            list: "array", dict: "object"}[type(value)]


def _covered(atom: str, atoms: set[str]) -> bool:
    if atom in atoms or "any" in atoms or (atom == "integer" and "number" in atoms):
        return True
    return atom.startswith("=") and _covered(_json_type(atom), {a for a in atoms if not a.startswith("=")})


def _show(atoms: set[str]) -> str:
    return " | ".join(sorted(a.lstrip("=") for a in atoms))


@dataclass
class _Comparison:
    breaking: list[str] = field(default_factory=list)
    compatible: list[str] = field(default_factory=list)

    def field(self, path: str, old: dict[str, Any], new: dict[str, Any], defs: tuple[dict, dict],
              accepts: bool) -> None:
        old_r, new_r = _resolve(old, defs[0]), _resolve(new, defs[1])
        old_atoms, new_atoms = _atoms(old_r, defs[0]), _atoms(new_r, defs[1])
        lost = {a for a in old_atoms if not _covered(a, new_atoms)}
        gained = {a for a in new_atoms if not _covered(a, old_atoms)}
        if lost:
            (self.breaking if accepts else self.compatible).append(
                f"`{path}` type narrowed: {_show(old_atoms)} -> {_show(new_atoms)}")
        if gained:
            (self.compatible if accepts else self.breaking).append(
                f"`{path}` type widened: {_show(old_atoms)} -> {_show(new_atoms)}")
        if accepts:
            for key in (*_RAISES, *_LOWERS, "pattern", "format"):
                before, after = old_r.get(key), new_r.get(key)
                if before == after:
                    continue
                tighter = after is not None and (before is None or key in ("pattern", "format") or (
                    after > before if key in _RAISES else after < before))
                shown = ["none" if value is None else value for value in (before, after)]
                (self.breaking if tighter else self.compatible).append(f"`{path}` {key} {shown[0]} -> {shown[1]}")
        if "properties" in old_r and "properties" in new_r:
            self.object(path, old_r, new_r, defs, accepts)

    def object(self, path: str, old: dict[str, Any], new: dict[str, Any], defs: tuple[dict, dict],
               accepts: bool) -> None:
        prefix = f"{path}." if path else ""
        old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name in old_fields:
            if name not in new_fields:
                self.breaking.append(f"`{prefix}{name}` removed")
        for name in new_fields:
            if name not in old_fields:
                if accepts and name in new_required:
                    self.breaking.append(f"`{prefix}{name}` added as required")
                else:
                    self.compatible.append(f"`{prefix}{name}` added")
        for name in old_fields.keys() & new_fields.keys():
            if accepts and name in new_required - old_required:
                self.breaking.append(f"`{prefix}{name}` made required")
            elif not accepts and name in old_required - new_required:
                self.breaking.append(f"`{prefix}{name}` no longer always present")
            elif name in old_required ^ new_required:
                self.compatible.append(f"`{prefix}{name}` required: {name in old_required} -> {name in new_required}")
            self.field(f"{prefix}{name}", old_fields[name], new_fields[name], defs, accepts)
        if accepts and old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
            self.breaking.append(f"`{path or '(body)'}` now rejects unknown fields")


def compare_contracts(old: dict[str, Any] | None, new: dict[str, Any] | None, *, note: str = "") -> ContractChanges:
    if old is None or new is None:
        return ContractChanges(note=note or "no contract to compare")
    breaking: dict[str, list[str]] = {}
    compatible: dict[str, list[str]] = {}
    for model in sorted(old.keys() | new.keys()):
        if model not in new:
            breaking.setdefault(f"model {model} removed", []).append(model)
            continue
        if model not in old:
            compatible.setdefault(f"model {model} added", []).append(model)
            continue
        for direction in ("accepts", "produces"):
            before, after = old[model][direction], new[model][direction]
            comparison = _Comparison()
            comparison.object("", before, after, (before.get("$defs", {}), after.get("$defs", {})),
                              direction == "accepts")
            for change in comparison.breaking:
                breaking.setdefault(change, []).append(f"{model} {direction}")
            for change in comparison.compatible:
                compatible.setdefault(change, []).append(f"{model} {direction}")

    def lines(found: dict[str, list[str]]) -> tuple[str, ...]:
        return tuple(f"{change} ({', '.join(where)})" for change, where in found.items())

    return ContractChanges(breaking=lines(breaking), compatible=lines(compatible))


if __name__ == "__main__":  # python -m review.contract LAMBDAS_DIR: print that code's contract schemas
    print(json.dumps(export_schemas(Path(sys.argv[1]))))
