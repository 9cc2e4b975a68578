"""A fast resolver for the plain interpolations NeMo configs use, with OmegaConf as the fallback.

Building an OmegaConf tree of a full NeMo config and resolving it costs ~40 ms; a check of
1,000 runs cannot afford that. This resolves the common forms directly on plain data:
`${a.b}`, `${.x}`, `${..x}`, `${a[0]}`-free paths, string interpolation `x${a}y`, and the
registered resolvers with plain or nested-interpolation arguments. Anything else (escapes,
quotes, brackets, unknown resolvers, missing keys, `???`, cycles) raises `Unsupported`, and the
caller resolves that tree with OmegaConf itself, which also words the error. Tests compare
both on every run in the repository and in the benchmark repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from .gate import Json, KeyPath

Resolver = Callable[..., Json]  # an OmegaConf resolver: plain values in, a plain value out
_NODE = re.compile(r"\$\{(\.*)([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\}")
_CALL = re.compile(r"\$\{([A-Za-z_][\w]*):([^${}\\'\"\[\]]*(?:\$\{\.*[A-Za-z_][\w.-]*\}[^${}\\'\"\[\]]*)*)\}")
_ANY = re.compile(r"\$\{")
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


class Unsupported(Exception):
    """This value needs OmegaConf's full grammar (or is an error OmegaConf should word)."""


def resolve_tree(data: Json, resolvers: Mapping[str, Resolver]) -> Json:
    """Resolve every interpolation in `data` (plain dicts/lists) against `data` as root."""
    return _Resolver(data, resolvers).value((), data)


class _Resolver:
    def __init__(self, root: Json, resolvers: Mapping[str, Resolver]):
        self.root = root
        self.resolvers = resolvers
        self.active: set[KeyPath] = set()
        self.done: dict[KeyPath, Json] = {}

    def value(self, path: KeyPath, node: Json) -> Json:
        if isinstance(node, dict):
            return {k: self.value(path + (k,), v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(path + (i,), v) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return self.string(path, node)
        return node

    def lookup(self, path: KeyPath, dots: str, dotted: str) -> Json:
        """The resolved value a reference points to; `path` is the referring node's own path."""
        base = () if not dots else path[: len(path) - len(dots)]
        if dots and len(dots) > len(path):
            raise Unsupported("relative reference above the root")
        target = base + tuple(dotted.split("."))
        node = self.root
        for k in target:
            if not isinstance(node, dict) or k not in node:
                raise Unsupported("missing key")
            node = node[k]
        if node == "???":
            raise Unsupported("missing value")
        if target in self.done:
            return self.done[target]
        if target in self.active:
            raise Unsupported("cycle")
        self.active.add(target)
        try:
            out = self.value(target, node)
        finally:
            self.active.discard(target)
        self.done[target] = out
        return out

    def string(self, path: KeyPath, text: str) -> Json:
        whole = _NODE.fullmatch(text)
        if whole:
            return self.lookup(path, whole.group(1), whole.group(2))
        call = _CALL.fullmatch(text)
        if call:
            return self.call(path, call.group(1), call.group(2))
        # string interpolation: every piece must be a plain node reference or call
        pieces, pos = [], 0
        for m in re.finditer(f"{_NODE.pattern}|{_CALL.pattern}", text):
            pieces.append(text[pos : m.start()])
            if m.group(2) is not None:
                v = self.lookup(path, m.group(1), m.group(2))
            else:
                v = self.call(path, m.group(3), m.group(4))
            if isinstance(v, (dict, list)) or v is None:
                raise Unsupported("container or null inside a string")
            pieces.append(_as_text(v))
            pos = m.end()
        rest = text[pos:]
        pieces.append(rest)
        if any(_ANY.search(p) or "\\" in p for p in pieces[::2]):
            raise Unsupported("interpolation form outside the fast subset")
        return "".join(pieces)

    def call(self, path: KeyPath, name: str, args: str) -> Json:
        fn = self.resolvers.get(name)
        if fn is None:
            raise Unsupported(f"resolver {name}")
        values: list[Json] = []
        for raw in args.split(",") if args.strip() else []:
            raw = raw.strip()
            m = _NODE.fullmatch(raw)
            if m:
                values.append(self.lookup(path, m.group(1), m.group(2)))
            elif "${" in raw or not raw:
                raise Unsupported("argument form")
            else:
                values.append(_literal(raw))
        return fn(*values)


def _literal(raw: str) -> int | float | bool | str | None:
    """OmegaConf's typing of an unquoted resolver argument (the common cases)."""
    if _INT.match(raw):
        return int(raw)
    if _FLOAT.match(raw):
        return float(raw)
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if any(c in raw for c in " :=") or raw.startswith(("-", "+")):
        raise Unsupported("argument needs OmegaConf's grammar")
    return raw


def _as_text(v: object) -> str:
    if isinstance(v, bool):
        return str(v)
    return str(v)
