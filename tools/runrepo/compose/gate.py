"""The input gate: the only place that reads a layer from disk.

Hydra and OmegaConf are not a security boundary: they follow `..` and symlinks, keep
the last of two duplicate keys (OmegaConf refuses them, plain YAML does not), and
expand alias bombs for minutes. Every file passes here first and comes out as plain
data plus the line and column of every key and list item.

YAML is parsed with libyaml's composer (fast, no alias expansion) and scalars are typed
with OmegaConf's own implicit resolvers (`1e-5` is a float, timestamps stay strings), so
the data equals what OmegaConf.load would give; the Hydra parity tests prove it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from ..errors import RunrepoError

MAX_LAYER_BYTES = 1 << 20  # a full NeMo config is ~10 KiB; 1 MiB is generous
MAX_DEPTH = 32
MAX_NODES = 50_000

# Parsed YAML as the gate hands it on: plain dicts (string keys), lists, str, int, float, bool, None. A
# layer may hold anything under any key, so it is Any where it is read; readers narrow with isinstance.
Json = Any
KeyPath = tuple[str | int, ...]  # ("parameters", "model", "num_layers"); list items by index
Positions = dict[KeyPath, tuple[int, int]]  # key path -> (line, col) of the key or item, 1-based

if TYPE_CHECKING:  # types-PyYAML declares libyaml's loader; without libyaml it is the pure-Python one
    _CLoader = yaml.CSafeLoader
else:
    _CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_CLoader):
    """libyaml parser with OmegaConf's scalar typing (see omegaconf._utils.get_yaml_loader)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:
     [-+]?[0-9]+(?:_[0-9]+)*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+)
    |\.[0-9]+(?:_[0-9]+)*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9]+(?:_[0-9]+)*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in _Loader.yaml_implicit_resolvers.items()
}

_CONSTRUCT = yaml.constructor.SafeConstructor()
_SCALARS: dict[str, Callable[[yaml.ScalarNode], Json]] = {
    "tag:yaml.org,2002:null": lambda n: None,
    "tag:yaml.org,2002:bool": _CONSTRUCT.construct_yaml_bool,
    "tag:yaml.org,2002:int": _CONSTRUCT.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCT.construct_yaml_float,
    "tag:yaml.org,2002:str": lambda n: n.value,
}
_PACKAGE_RE = re.compile(r"^#\s*@package\s+(\S+)\s*$")


@dataclass
class Layer:
    """One parsed file: plain data plus where each key and item sits in it."""

    file: str  # repository-relative path, as findings print it
    name: str  # config name relative to runs/, without .yaml
    package: str | None  # from a `# @package X` header
    data: dict[str, Json]
    pos: Positions = field(default_factory=dict)  # key path -> (line, col), 1-based
    digest: str = ""


def parse_yaml(text: str, file: str) -> tuple[Json, Positions]:
    """Parse one YAML document into plain data and a key-path -> (line, col) map."""
    bom = text.find("\ufeff", 1)
    if bom > 0:  # libyaml drops a byte-order mark anywhere, PyYAML's reader (OmegaConf's) keeps it
        line = text.count("\n", 0, bom) + 1
        raise RunrepoError("layer-encoding", "a byte-order mark (U+FEFF) inside the text: YAML readers disagree "
                                             "on it; delete it", file, line, bom - text.rfind("\n", 0, bom))
    try:
        _prescan(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = " ".join(str(p) for p in (e.context, e.problem) if p)
        if e.context_mark and e.problem_mark and _opened_at(e.context):
            # an unclosed bracket or quote is found where the next line starts, or at the end of
            # the file; the line to fix is where it was opened
            problem += f" (found on line {e.problem_mark.line + 1})"
            mark = e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000), met before ours on one line
            raise RunrepoError("yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", file, line, col) from None
        if "\t" in text and ("tab" in problem.lower() or _tab_at(text, mark)):
            problem += " (tabs cannot indent YAML; use spaces)"
        raise RunrepoError("yaml-syntax", f"YAML syntax error: {problem}", file, line, col) from None
    except yaml.reader.ReaderError as e:  # a control character: report its line, not 1:1
        before = text.encode()[: e.position].decode(errors="replace")  # libyaml counts bytes
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        what = f"character #x{e.character:04x}" if isinstance(e.character, int) else "character"
        raise RunrepoError(
            "yaml-syntax", f"YAML syntax error: {what} is not allowed ({e.reason})", file, line, col
        ) from None
    except yaml.YAMLError as e:
        raise RunrepoError("yaml-syntax", f"YAML error: {str(e).splitlines()[0]}", file, 1, 1) from None
    pos: Positions = {}
    if node is None:
        return None, pos
    counter = [0]
    data = _convert(node, (), pos, set(), file, counter, (node.start_mark.line + 1, node.start_mark.column + 1))
    return data, pos


def _opened_at(context: str | None) -> bool:
    return context is not None and any(w in context for w in ("flow sequence", "flow mapping", "quoted scalar", "flow node"))


def _tab_at(text: str, mark: _Mark | None) -> bool:
    """libyaml often says only "cannot start any token" when a tab indents a line."""
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines):
        return False
    return "\t" in lines[mark.line][: mark.column + 1]


def _prescan(text: str, file: str) -> None:
    """Walk libyaml's events before composing: node count, depth and aliases stop the parse early.

    yaml.compose builds the whole node graph first (a 1 MiB file of small lists takes seconds);
    events are lazy, so a hostile file is refused after MAX_NODES events. An alias is refused
    where it is used, which is the line to show (the composed node only knows its anchor).
    """
    loader = _Loader(text)
    try:
        nodes = depth = 0
        while loader.check_event():
            ev = loader.get_event()
            if isinstance(ev, yaml.AliasEvent):
                raise RunrepoError(
                    "yaml-alias",
                    f"YAML alias *{ev.anchor} is not allowed in run layers (aliases can expand into alias bombs)",
                    file,
                    *_line_col(ev.start_mark),
                )
            if isinstance(ev, yaml.CollectionEndEvent):
                depth -= 1
                continue
            if not isinstance(ev, yaml.NodeEvent):
                continue
            nodes += 1
            at = _line_col(ev.start_mark)
            if nodes > MAX_NODES:
                raise RunrepoError("yaml-size", f"more than {MAX_NODES} YAML nodes in one layer", file, *at)
            if depth > MAX_DEPTH:
                raise RunrepoError("yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", file, *at)
            if isinstance(ev, yaml.CollectionStartEvent):
                depth += 1
    finally:
        loader.dispose()


class _Mark(Protocol):  # yaml.Mark, or libyaml's
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


def _line_col(mark: _Mark | None) -> tuple[int, int]:
    """1-based (line, col) of a mark; the parser gives every event and node one (the stubs allow None)."""
    return (mark.line + 1, mark.column + 1) if mark else (0, 0)


def _convert(
    node: yaml.Node, path: KeyPath, pos: Positions, seen: set[int], file: str, counter: list[int], at: tuple[int, int]
) -> Json:
    if id(node) in seen:
        raise RunrepoError(
            "yaml-alias", "YAML anchors and aliases are not allowed in run layers (alias bombs)", file, *at
        )
    seen.add(id(node))
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise RunrepoError("yaml-size", f"more than {MAX_NODES} YAML nodes in one layer", file, *at)
    if len(path) > MAX_DEPTH:
        raise RunrepoError("yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", file, *at)
    if isinstance(node, yaml.ScalarNode):
        build = _SCALARS.get(node.tag)
        if build is None:
            raise RunrepoError("yaml-tag", f"YAML tag {node.tag} is not allowed", file, *at)
        try:
            value = build(node)
        except (ValueError, yaml.YAMLError):
            raise RunrepoError("yaml-tag", f"cannot read {node.value!r} as {node.tag}", file, *at) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise RunrepoError("yaml-number", _not_finite(node.value, value), file, *_mark(node))
        return value
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise RunrepoError("yaml-tag", f"YAML tag {node.tag} is not allowed", file, *at)
        items: list[Json] = []
        for i, item in enumerate(node.value):
            where = _line_col(item.start_mark)
            pos[path + (i,)] = where
            items.append(_convert(item, path + (i,), pos, seen, file, counter, where))
        return items
    if node.tag != "tag:yaml.org,2002:map":
        raise RunrepoError("yaml-tag", f"YAML tag {node.tag} is not allowed", file, *at)
    out: dict[str, Json] = {}
    for key_node, value_node in node.value:
        where = _line_col(key_node.start_mark)
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise RunrepoError("yaml-alias", "YAML merge keys (<<) are not allowed in run layers", file, *where)
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            raise RunrepoError("yaml-key", "mapping keys must be plain strings", file, *where)
        key = key_node.value
        if not key.isprintable():  # a newline or control character in a key breaks one-line findings
            raise RunrepoError("yaml-key", f"mapping key {key!r} holds a control character", file, *where)
        if key in out:
            raise RunrepoError(
                "yaml-duplicate-key",
                f"duplicate key {key!r} (YAML would silently keep only the last one)",
                file,
                *where,
            )
        pos[path + (key,)] = where
        out[key] = _convert(value_node, path + (key,), pos, seen, file, counter, where)
    return out


def _mark(node: yaml.Node) -> tuple[int, int]:
    return _line_col(node.start_mark)


def _not_finite(text: str, value: float) -> str:
    """NaN and infinities are not JSON: the platform's API refuses them, NeMo would train on them."""
    what = "NaN" if math.isnan(value) else "infinite" if text.lower().lstrip("+-.") == "inf" else "too large (infinite)"
    return f"{text[:40]!r} is {what}: NaN and infinities cannot be submitted (they are not JSON); write a finite number"


def read_text(path: Path, file: str) -> str:
    """Read a layer's bytes with the size and encoding limits applied."""
    try:
        size = path.stat().st_size
        if size > MAX_LAYER_BYTES:
            raise RunrepoError("layer-size", f"{size} bytes is over the {MAX_LAYER_BYTES}-byte limit", file, 1, 1)
        with path.open("rb") as f:  # read at most one byte past the limit: the file may grow meanwhile
            raw = f.read(MAX_LAYER_BYTES + 1)
    except OSError as e:  # unreadable (permissions, I/O): a finding, not an internal error
        raise RunrepoError("layer-missing", f"cannot read: {e.strerror or e}", file) from None
    return decode(raw, file)


def decode(raw: bytes, file: str) -> str:
    if len(raw) > MAX_LAYER_BYTES:
        raise RunrepoError("layer-size", f"{len(raw)} bytes is over the {MAX_LAYER_BYTES}-byte limit", file, 1, 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RunrepoError("layer-encoding", f"not UTF-8 (byte 0x{raw[e.start]:02x})", file, line, 1) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise RunrepoError("layer-encoding", "NUL byte in a text layer", file, line, 1)
    return text.removeprefix("\ufeff")


def printable(path: str) -> str:
    """A file name with undecodable bytes (surrogates) as `\\xff`, so findings can always be printed."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def header_package(text: str) -> str | None:
    """The `# @package X` header, read as Hydra reads it: from the leading comment block."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        m = _PACKAGE_RE.match(stripped)
        if m:
            return m.group(1)
    return None


def confine(runs_dir: Path, name: str, file: str) -> Path:
    """Resolve config `name` under runs/, refusing escapes through `..` or symlinks."""
    if (
        "\\" in name
        or name.startswith("/")
        or any(p in ("..", ".", "") for p in name.split("/"))
        or not name.isprintable()  # NUL made os.stat raise; control characters garble findings
    ):
        raise RunrepoError("layer-escape", f"config name {name!r} leaves runs/ or is not a plain path", file)
    candidate = runs_dir / f"{name}.yaml"
    real_root = Path(os.path.realpath(runs_dir))
    real = Path(os.path.realpath(candidate))
    if real_root not in real.parents:
        raise RunrepoError("layer-escape", f"{name}.yaml resolves outside runs/ (symlink?)", file)
    # A symlink that stays inside runs/ is refused too: git stores it as a link, which GitSource
    # refuses, so plan and submit would fail on what check accepted (and one file, two runs).
    node = candidate
    while node != runs_dir and runs_dir in node.parents:
        if node.is_symlink():
            rel = node.relative_to(runs_dir).as_posix()
            raise RunrepoError("layer-escape", f"runs/{rel} is a symlink; layers must be regular files", file)
        node = node.parent
    return candidate


def load_text_layer(text: str, file: str, name: str) -> Layer:
    """Turn a layer's text into a Layer; the caller has read and decoded it."""
    data, pos = parse_yaml(text, file)
    if data is None:
        raise RunrepoError("layer-empty", "empty layer: expected a mapping of settings", file, 1, 1)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise RunrepoError("layer-not-mapping", f"a layer must be a mapping, this is {kind}", file, 1, 1)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Layer(file=file, name=name, package=header_package(text), data=data, pos=pos, digest=digest)


def load_layer(runs_dir: Path, name: str, repo_root: Path | None = None, cited_by: str = "") -> Layer:
    """Read config `name` (e.g. `cluster/r7z2`) from runs/ through every check above."""
    repo_root = repo_root or runs_dir.parent
    path = confine(runs_dir, name, cited_by or printable(f"{(runs_dir.relative_to(repo_root) / name).as_posix()}.yaml"))
    file = path.relative_to(repo_root).as_posix()
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such layer"
        raise RunrepoError("layer-missing", f"{what} {name!r} ({file})", cited_by or file)
    return load_text_layer(read_text(path, file), file, name)
