"""schemas/ -> findings: the expanded mcli run and its NeMo parameters against JSON Schemas.

Two conventions of this repository's schemas: `x-message` on a subschema replaces
jsonschema's wording when that subschema fails (retired mcli fields name their modern
spelling), and `x-open-sections` lists the NeMo sections where NeMo ignores unknown
keys (reported by the nemo-unknown-key rule, not as schema errors).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..compose.gate import Json, KeyPath
from ..errors import RunrepoError

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

Schema = dict[str, Json]  # a JSON Schema document (parsed JSON)


@cache
def schema_dir() -> Path:
    """The schemas shipped with the package, else the repository's top-level schemas/."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "schemas", here.parent.parent / "schemas"):
        if (candidate / "mcli-run.json").is_file():
            return candidate
    raise RunrepoError("internal", "schemas/ not found next to the runrepo package")


@cache
def load(name: str) -> Schema:
    schema: Schema = json.loads((schema_dir() / name).read_text())
    return schema


# "integer" is strict here: draft 2020-12 counts 8.0 as an integer (jsonschema and jsonschema-rs
# accept it), but the platform refuses `gpus: 512.0` and NeMo's integer settings are Python ints.
STRICT_INT = "x-strict-integer"  # added beside every integer-only `type` for jsonschema-rs


def _is_int(_checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def validator(name: str) -> Validator:
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int)
    strict: Validator = validators.extend(Draft202012Validator, type_checker=checker)(load(name))
    return strict


class _StrictInt:
    """jsonschema-rs keyword: a float is not an integer, even 8.0 (its `type` cannot be redefined)."""

    def __init__(self, _parent: Json, _value: Json, _path: object):
        pass

    def validate(self, instance: Json) -> None:
        if isinstance(instance, float):
            raise ValueError(f"{instance!r} is not an integer")


def _strict(schema: Json) -> Json:
    """A copy of `schema` with STRICT_INT beside every `type` that allows integers but not numbers."""
    if isinstance(schema, list):
        return [_strict(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    if "integer" in types and "number" not in types:
        out[STRICT_INT] = True
    return out


@cache
def fast_validator(name: str) -> jsonschema_rs.Validator | None:
    """jsonschema-rs (compiled, draft 2020-12) answers "valid?" in microseconds; the pure-Python
    validator is only imported to word the errors of an invalid document."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(_strict(load(name)), keywords={STRICT_INT: _StrictInt})


def nemo_schema_name(release: str) -> str | None:
    name = f"nemo/v{release}.json"
    return name if (schema_dir() / name).is_file() else None


def _float_for_int(err: ValidationError) -> float | None:
    """The integral float (8.0) refused where an integer is wanted, in `err` or its alternatives."""
    for e in (err, *(err.context or ())):
        types = e.validator_value if e.validator == "type" else None
        types = [types] if isinstance(types, str) else types or []
        if isinstance(e.instance, float) and e.instance.is_integer() and "integer" in types:
            return e.instance
    return None


def _message(err: ValidationError) -> str:
    x = _float_for_int(err)
    if x is not None:  # say so plainly: "8.0 is not of type 'integer'" reads like a bug in the tool
        return f"{x!r} is written as a decimal but must be a whole number: write {int(x)}"
    custom: str | None = err.schema.get("x-message") if isinstance(err.schema, dict) else None
    if custom:
        return custom
    if err.context:
        for sub in sorted(err.context, key=lambda e: -len(e.absolute_path)):
            if isinstance(sub.schema, dict) and sub.schema.get("x-message"):
                custom = sub.schema["x-message"]
                return custom
    return err.message


def _known(schema: Mapping[str, Json]) -> list[str]:
    return list((schema.get("properties") or {}).keys())


def suggest(key: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return close[0] if close else None


def validate(instance: Json, name: str, prefix: KeyPath = ()) -> list[tuple[KeyPath, str]]:
    """(key path, message) for every schema error; unknown keys are reported one by one."""
    out: list[tuple[KeyPath, str]] = []
    fast = fast_validator(name)
    if fast is not None and fast.is_valid(instance):
        return out
    for err in validator(name).iter_errors(instance):
        path = prefix + tuple(err.absolute_path)
        dotted = ".".join(map(str, path)) or "(top level)"
        schema = err.schema  # the subschema that failed: a mapping for additionalProperties
        if err.validator == "additionalProperties" and isinstance(err.instance, dict) and isinstance(schema, dict):
            known = _known(schema)
            for key in err.instance:
                if key in known:
                    continue
                if isinstance(schema.get("additionalProperties"), dict):
                    continue
                hint = suggest(key, known)
                tip = f"; did you mean `{hint}`?" if hint else ""
                custom = (schema.get("x-unknown") or "").strip()
                out.append((path + (key,), f"unknown key `{'.'.join(map(str, path + (key,)))}`{tip}{custom}"))
            continue
        if err.validator == "required":
            out.append((path, f"{dotted}: {err.message}"))
            continue
        out.append((path, f"{dotted}: {_message(err)}"))
    return sorted(out, key=lambda x: tuple(map(str, x[0])))


def open_unknown_keys(params: dict[str, Json], name: str) -> list[tuple[KeyPath, str, bool]]:
    """Keys NeMo would ignore inside open sections: (path, message, is_probable_typo)."""
    schema = load(name)
    out: list[tuple[KeyPath, str, bool]] = []
    for section in schema.get("x-open-sections", []):
        sub = (schema.get("properties") or {}).get(section)
        if isinstance(sub, dict) and isinstance(params.get(section), dict):
            _walk_open(params[section], sub, ("parameters", section), out, schema)
    return out


def _deref(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if ref and ref.startswith("#/"):
        node = root
        for part in ref[2:].split("/"):
            node = node.get(part, {})
        return node
    return schema


def _walk_open(
    value: dict[str, Json], schema: Schema, path: KeyPath, out: list[tuple[KeyPath, str, bool]], root: Schema
) -> None:
    schema = _deref(schema, root)
    props = schema.get("properties")
    if not isinstance(props, dict) or not props:
        return  # a free-form mapping: nothing is known, nothing is unknown
    for key, sub in value.items():
        if key in props:
            if isinstance(sub, dict):
                _walk_open(sub, props[key], path + (key,), out, root)
            continue
        dotted = ".".join(map(str, path[1:] + (key,)))
        hint = suggest(key, props)
        if hint:
            out.append(
                (
                    path + (key,),
                    f"unknown key `{dotted}`: did you mean `{hint}`? NeMo ignores "
                    f"`{key}` silently and trains with the default",
                    True,
                )
            )
        else:
            out.append(
                (
                    path + (key,),
                    f"`{dotted}` is not a key of this NeMo release's config; NeMo reads "
                    "it only if some code asks for it",
                    False,
                )
            )


def int_booleans(params: dict[str, Json], name: str) -> list[tuple[tuple[str, str], int]]:
    """exp_manager fields typed boolean-or-integer (OmegaConf's BooleanNode) that hold an integer."""
    props = (load(name).get("properties") or {}).get("exp_manager", {}).get("properties") or {}
    section = params.get("exp_manager")
    out = []
    for key, value in (section.items() if isinstance(section, dict) else ()):
        types = (props.get(key) or {}).get("type")
        if isinstance(value, int) and not isinstance(value, bool) and isinstance(types, list):
            if "boolean" in types and "integer" in types:
                out.append((("exp_manager", key), value))
    return out
