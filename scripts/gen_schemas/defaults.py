"""NeMo's default GPT config of a release: resolved values (OmegaConf) and end-of-line comments.

Loaded with OmegaConf, not PyYAML: PyYAML reads `1e-5` as a string, OmegaConf (like NeMo) as
a float. Interpolations are resolved with NeMo's resolvers, so each key is typed by the value
NeMo would see; `???` (mandatory, no value) is kept as the string "???".
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf
from ruamel.yaml import YAML


def _register_resolvers() -> None:
    # NeMo registers these when it is imported (multiply in every release, sum from v1.23).
    OmegaConf.register_new_resolver("multiply", lambda x, y: x * y, replace=True)
    OmegaConf.register_new_resolver("sum", lambda *args: sum(args), replace=True)


def load(path: Path) -> dict:
    _register_resolvers()
    cfg = OmegaConf.load(path)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def comments(path: Path) -> dict[str, str]:
    """{dotted key: first line of its end-of-line comment} for scalar keys."""
    data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if not hasattr(node, "items"):
            return
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            tokens = node.ca.items.get(key) if hasattr(node, "ca") else None
            token = tokens[2] if tokens and len(tokens) > 2 else None
            if token is not None and not hasattr(value, "items"):
                first = token.value.split("\n")[0]  # later lines are comments above the next key
                text = first.strip().lstrip("#").strip()
                if text:
                    out[dotted] = text
            walk(value, dotted + ".")

    walk(data, "")
    return out


def infer(value) -> dict:
    """Schema of a default value: its type (ints pass where the default is a float)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        kinds = {infer(v).get("type") for v in value if not isinstance(v, (list, dict))}
        if kinds == {"integer", "number"}:
            kinds = {"number"}
        if len(kinds) == 1 and len(value) == sum(not isinstance(v, (list, dict)) for v in value):
            return {"type": "array", "items": {"type": kinds.pop()}}
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return {}  # null: the default says nothing about the type
