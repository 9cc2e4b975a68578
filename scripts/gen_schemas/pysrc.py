"""Python sources read with `ast`: annotations as JSON Schema, Trainer.__init__, dataclasses, cfg.get().

Annotations become the values a YAML file can hold: Python objects (Callback, timedelta, ...)
drop out of a Union; a Union left with nothing gives no schema at all (the key is not settable
from YAML, which the description says).
"""

from __future__ import annotations

import ast
import io
import tokenize

from .wheels import Sources

NULL = {"type": "null"}
SCALARS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str": {"type": "string"},
    "Path": {"type": "string"},
    "PathLike": {"type": "string"},
    "None": NULL,
    "NoneType": NULL,
}
MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "DictConfig"}
SEQUENCES = {"list", "List", "Sequence", "Iterable", "tuple", "Tuple", "Set", "set", "ListConfig"}
ENUM_BASES = {"Enum", "IntEnum", "Signals"}  # OmegaConf takes an enum member's name or value
STR_COERCED = {"type": ["string", "number", "boolean"]}  # OmegaConf turns scalars into text for str
BOOL_COERCED = {"type": ["boolean", "integer"]}  # ... and an integer into a bool (0 False, else True)


def _last(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def combine(alts: list[dict] | None) -> dict | None:
    """One schema for a list of alternatives: {} = anything, None = nothing YAML can hold."""
    if alts is None:
        return {}
    if not alts:
        return None
    types: list[str] = []
    enums: list = []
    others: list[dict] = []
    for alt in alts:
        if set(alt) == {"type"}:
            for t in [alt["type"]] if isinstance(alt["type"], str) else alt["type"]:
                if t not in types:
                    types.append(t)
        elif set(alt) == {"enum"}:
            enums.extend(v for v in alt["enum"] if v not in enums)
        elif alt not in others:
            others.append(alt)
    if "number" in types and "integer" in types:
        types.remove("integer")
    if enums and set(types) <= {"boolean", "null"}:  # finite: fold into the enum
        for t, values in (("boolean", [True, False]), ("null", [None])):
            if t in types:
                enums.extend(v for v in values if v not in enums)
        types = []
    base: dict = {"type": types[0] if len(types) == 1 else types} if types else {}
    rest = []
    for other in others:  # an array or object alternative folds into the type list
        kind = other.get("type")
        clash = (set(other) - {"type"}) & set(base)
        if types and kind in ("array", "object") and kind not in types and not clash:
            base["type"] = [*types, kind]
            types = base["type"]
            base.update({k: v for k, v in other.items() if k != "type"})
        else:
            rest.append(other)
    parts = ([base] if base else []) + ([{"enum": enums}] if enums else []) + rest
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


class Reader:
    """Annotation -> schema within the modules of `sources`, following imports and aliases."""

    def __init__(self, sources: Sources, coerce_str: bool = False, dataclasses: bool = False):
        self.sources = sources
        self.coerce_str = coerce_str
        self.dataclasses = dataclasses

    def lookup(self, module: str, name: str, depth: int = 0) -> tuple[str, ast.AST] | None:
        """Where `name` seen in `module` is defined: (module, class or assigned expression)."""
        found = self.sources.module(module)
        if not found or depth > 8:
            return None
        tree, _, is_pkg = found
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == name:
                return module, stmt
            if isinstance(stmt, ast.Assign) and any(_last(t) == name for t in stmt.targets):
                return module, stmt.value
            if isinstance(stmt, ast.AnnAssign) and _last(stmt.target) == name and stmt.value is not None:
                return module, stmt.value
            if isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    if (alias.asname or alias.name) == name:
                        parts = module.split(".")
                        base = parts if is_pkg else parts[:-1]
                        if stmt.level:
                            base = base[: len(base) - stmt.level + 1]
                            target = ".".join(base + ([stmt.module] if stmt.module else []))
                        else:
                            target = stmt.module or ""
                        return self.lookup(target, alias.name, depth + 1)
        return None

    def alts(self, node: ast.expr | None, module: str) -> list[dict] | None:
        """Alternatives of an annotation: a list of schemas, or None for 'anything'."""
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            if node.value is None:
                return [NULL]
            if isinstance(node.value, str):  # a forward reference
                return self.alts(ast.parse(node.value, mode="eval").body, module)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, right = self.alts(node.left, module), self.alts(node.right, module)
            return None if left is None or right is None else left + right
        if isinstance(node, ast.Subscript):
            return self._subscript(node, module)
        name = _last(node)
        if name == "Any":
            return None
        if name == "str" and self.coerce_str:
            return [STR_COERCED]
        if name == "bool" and self.coerce_str:  # OmegaConf's BooleanNode takes an int: 0 is False
            return [BOOL_COERCED]
        if name in SCALARS:
            return [SCALARS[name]]
        if name in MAPPINGS:
            return [{"type": "object"}]
        if name in SEQUENCES:
            return [{"type": "array"}]
        if name in ENUM_BASES:
            return [{"type": ["string", "integer"]}]
        found = self.lookup(module, name) if isinstance(node, ast.Name) else None
        if found is None:
            return []  # a Python object: YAML cannot hold one
        where, obj = found
        if isinstance(obj, ast.ClassDef):
            if {_last(b) for b in obj.bases} & ENUM_BASES:
                return [{"type": ["string", "integer"]}]
            if self.dataclasses and is_dataclass(obj):
                return [self.dataclass_schema(where, obj)]
            return []
        return self.alts(obj, where)

    def _subscript(self, node: ast.Subscript, module: str) -> list[dict] | None:
        base = _last(node.value)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Optional":
            inner = self.alts(args[0], module)
            return None if inner is None else inner + [NULL]
        if base == "Union":
            out: list[dict] = []
            for arg in args:
                alt = self.alts(arg, module)
                if alt is None:
                    return None
                out += alt
            return out
        if base == "Literal":
            return [{"enum": [a.value for a in args if isinstance(a, ast.Constant)]}]
        if base in SEQUENCES:
            items = combine(self.alts(args[0], module))
            if items is None:
                return [{"type": "array", "maxItems": 0}]
            return [{"type": "array", "items": items} if items else {"type": "array"}]
        if base in MAPPINGS:
            values = combine(self.alts(args[-1], module))
            if values is None:
                return [{"type": "object", "maxProperties": 0}]
            return [{"type": "object", "additionalProperties": values} if values else {"type": "object"}]
        if base in ("Type", "Callable"):
            return []
        return self.alts(node.value, module)

    def schema(self, node: ast.expr | None, module: str) -> dict | None:
        return combine(self.alts(node, module))

    def dataclass_schema(self, module: str, cls: ast.ClassDef) -> dict:
        """A strict object: OmegaConf.merge(structured(cls), cfg) refuses unknown keys."""
        props = {}
        for field, stmt in dataclass_fields(self, module, cls):
            schema = self.schema(stmt.annotation, module)
            default = _literal(stmt.value)
            text = field_comment(self.sources, module, stmt)
            ann = ast.unparse(stmt.annotation)
            if schema is None:
                schema, text = {}, f"{text} (a Python object; YAML cannot set it)".strip()
            detail = f"NeMo `{cls.name}.{field}: {ann}`" + (f", default {_show(default)}" if default else "")
            props[field] = {"description": f"{text} ({detail})." if text else f"{detail}."}
            props[field].update(schema)
            if default and _jsonable(default[0]):
                props[field]["default"] = default[0]
        unknown = f"; NeMo's `{cls.name}` dataclass (exp_manager's structured config) refuses unknown keys"
        return {"type": "object", "additionalProperties": False, "x-unknown": unknown, "properties": props}


def is_dataclass(cls: ast.ClassDef) -> bool:
    decos = [d.func if isinstance(d, ast.Call) else d for d in cls.decorator_list]
    return any(_last(d) == "dataclass" for d in decos)


def dataclass_fields(reader: Reader, module: str, cls: ast.ClassDef):
    for base in cls.bases:  # fields of dataclass bases come first
        found = reader.lookup(module, _last(base)) if isinstance(base, ast.Name) else None
        if found and isinstance(found[1], ast.ClassDef) and is_dataclass(found[1]):
            yield from dataclass_fields(reader, found[0], found[1])
    for stmt in cls.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if "ClassVar" not in ast.unparse(stmt.annotation):
                yield stmt.target.id, stmt


def _literal(node: ast.expr | None) -> tuple | None:
    """(value,) when `node` is a literal, else None."""
    if node is None:
        return None
    try:
        return (ast.literal_eval(node),)
    except ValueError:
        return None


def _jsonable(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, float, str))


def _show(default: tuple | None) -> str:
    return "none" if not default else f"`{default[0]!r}`"


def field_comment(sources: Sources, module: str, stmt: ast.stmt) -> str:
    """Comments on the lines just above `stmt` and at the end of its last line."""
    found = sources.module(module)
    if not found:
        return ""
    lines = found[1].splitlines()
    above: list[str] = []
    row = stmt.lineno - 2
    while row >= 0 and lines[row].strip().startswith("#"):
        above.insert(0, lines[row].strip().lstrip("#").strip())
        row -= 1
    trailing = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(lines[stmt.end_lineno - 1] + "\n").readline):
            if tok.type == tokenize.COMMENT:
                trailing = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return " ".join(t for t in above + [trailing] if t)


def init_signature(sources: Sources, module: str, cls_name: str) -> tuple[list, str]:
    """([(name, annotation node, default node)], docstring) of `cls_name.__init__`."""
    tree = sources.module(module)[0]
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
    init = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    a = init.args
    positional = a.args[1:]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [(p.arg, p.annotation, d) for p, d in zip(positional, defaults, strict=True)]
    params += [(p.arg, p.annotation, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)]
    return params, ast.get_docstring(init) or ""


def docstring_args(doc: str) -> dict[str, str]:
    """First paragraph of each `name: text` entry of a Google-style Args section."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    except StopIteration:
        return out
    indent, current, done = None, None, False
    for line in lines[start + 1 :]:
        if not line.strip():
            done = current is not None
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break
        head, sep, tail = line.strip().partition(":")
        if width == indent and sep and head.isidentifier():
            current, done = head, False
            out[current] = tail.strip()
        elif current and not done and width > indent:
            out[current] = f"{out[current]} {line.strip()}".strip()
    return out


def get_calls(tree: ast.Module, receivers: dict[str, str]) -> dict[str, dict[str, list]]:
    """`recv.get('key', default)` calls: {section: {key: [literal defaults]}} (None: not literal)."""
    out: dict[str, dict[str, list]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        key = node.args[0] if node.args else None
        if node.func.attr != "get" or not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        section = receivers.get(ast.unparse(node.func.value))
        if section is None:
            continue
        default = node.args[1] if len(node.args) > 1 else None
        value = _literal(default) if default is not None else (None,)
        out.setdefault(section, {}).setdefault(node.args[0].value, []).append(value[0] if value else None)
    return out


def trainer_fixed_kwargs(tree: ast.Module) -> list[str]:
    """Keywords passed next to `**...cfg.trainer` in `Trainer(...)` calls (NeMo sets them itself)."""
    fixed: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _last(node.func) == "Trainer":
            spread = [k for k in node.keywords if k.arg is None]
            if any(ast.unparse(k.value).endswith("cfg.trainer") for k in spread):
                fixed += [k.arg for k in node.keywords if k.arg and k.arg not in fixed]
    return fixed


# Names that are methods of a config object (DictConfig, dict, str), not keys it holds.
_METHODS = {n for t in (dict, str, list) for n in dir(t)} | {"get", "pop", "items", "keys", "values", "copy"}


def _literal_key(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def config_reads(tree: ast.Module, receivers: dict[str, str]) -> dict[str, dict[str, list]]:
    """Keys read from a config: `recv.get('k', d)`, `recv.k`, `recv['k']` and `'k' in recv`, where
    `recv` is one of `receivers` (source text -> section) or a chain of reads below one.
    {section: {key: [literal defaults]}} (None where no literal default is given)."""
    memo: dict[int, str | None] = {}

    def section(node: ast.expr) -> str | None:
        if id(node) not in memo:
            memo[id(node)] = _section(node)
        return memo[id(node)]

    def _section(node: ast.expr) -> str | None:
        if isinstance(node, (ast.Name, ast.Attribute)) and ast.unparse(node) in receivers:
            return receivers[ast.unparse(node)]
        found = read(node)
        return None if found is None else (f"{found[0]}.{found[1]}" if found[0] else found[1])

    def read(node: ast.expr) -> tuple[str, str, object] | None:
        """(section, key, default) when `node` reads one key of a known section."""
        if isinstance(node, ast.Attribute) and node.attr not in _METHODS and not node.attr.startswith("_"):
            parent = section(node.value)
            return (parent, node.attr, None) if parent is not None else None
        if isinstance(node, ast.Subscript) and _literal_key(node.slice):
            parent = section(node.value)
            return (parent, node.slice.value, None) if parent is not None else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = _literal_key(node.args[0]) if node.args else None
            parent = section(node.func.value) if key else None
            if parent is None:
                return None
            default = _literal(node.args[1]) if len(node.args) > 1 else (None,)
            return parent, key, default[0] if default else None
        return None

    out: dict[str, dict[str, list]] = {}
    for node in ast.walk(tree):
        found = None
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
            found = read(node)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            key, parent = _literal_key(node.left), section(node.comparators[0])
            found = (parent, key, None) if key and parent is not None else None
        if found:
            out.setdefault(found[0], {}).setdefault(found[1], []).append(found[2])
    return out


def init_params(sources: Sources, module: str, cls_name: str) -> tuple[list[tuple[str, object]], bool, list[str]]:
    """([(keyword, literal default or None)], takes **kwargs, base class names) of `cls.__init__`."""
    found = sources.module(module)
    # ast.walk: a class may be defined inside a try block (NeMo 1.11's MegatronDistributedFusedAdam)
    cls = next((n for n in ast.walk(found[0]) if isinstance(n, ast.ClassDef) and n.name == cls_name), None) if found else None
    if cls is None:
        return [], False, []
    bases = [ast.unparse(b) for b in cls.bases]
    init = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return [], True, bases
    a = init.args
    positional = a.args[1:]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    pairs = list(zip(positional, defaults, strict=True)) + list(zip(a.kwonlyargs, a.kw_defaults, strict=True))
    params = [(p.arg, (_literal(d) or (None,))[0] if d is not None else None) for p, d in pairs]
    return [p for p in params if p[0] != "params"], a.kwarg is not None, bases
