"""The datasets a source knows: its data runs (runs/data/, each composed and resolved) and the external
datasets runs/datasets.yaml declares. The resolve step links a training run's data_prefix through it.

runs/datasets.yaml is not a Hydra layer: it is read through the gate (size, duplicate keys, aliases
refused, a position for every key) and checked key by key; a broken file is one `datasets-file` finding.

    version: 1
    external:
      - prefix: /mnt/data/pile/pile_00_text_document   # what data_prefix names
        tokenizer: {library: megatron, type: GPT2BPETokenizer, ...}   # optional: checked like a data run's
        note: prepared by hand in 2024                 # optional, for people
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunrepoError
from . import dataprep, gate
from .choices import closest
from .datalinks import DATA, DATA_PREFIX, EXTERNAL, REF, UNKNOWN, Links, Use, entries, is_ref, set_at
from .engine import Composed, compose
from .layers import RUNS, TreeSource
from .resolve import resolve

NAME = "datasets"
FILE = f"{RUNS}/{NAME}.yaml"
RULE = "datasets-file"
REF_RULE = "dataset-ref"
ENTRY_KEYS = ("prefix", "tokenizer", "note")


@dataclass(frozen=True)
class DataRun:
    name: str  # runs/data/NAME.yaml
    file: str
    prefix: str | None  # what it writes (None: no valid output_prefix)
    tokenizer: dict[str, Any]
    dataset: str  # dataprep.dataset_digest
    files: tuple[str, ...]  # what it composes from


@dataclass(frozen=True)
class External:
    prefix: str
    line: int
    tokenizer: dict[str, Any] | None


def normal(prefix: str) -> str:
    """A filesystem prefix as NeMo opens it (`/a//b/./c` is `/a/b/c`); URLs as written."""
    return posixpath.normpath(prefix) if prefix.startswith("/") else prefix


@dataclass
class Catalog:
    source: TreeSource
    _runs: dict[str, DataRun | RunrepoError] = field(default_factory=dict)
    _by_prefix: dict[str, DataRun] | None = None
    _external: dict[str, External] | None = None
    problem: RunrepoError | None = None  # runs/datasets.yaml could not be read

    def names(self) -> list[str]:
        return [n[len(dataprep.DATA_DIR) + 1:] for n in self.source.names() if n.startswith(dataprep.DATA_DIR + "/")]

    def data_run(self, name: str) -> DataRun | RunrepoError:
        """The data run NAME, composed and resolved, or why it cannot be."""
        if name not in self._runs:
            self._runs[name] = self._expand(name)
        return self._runs[name]

    def _expand(self, name: str) -> DataRun | RunrepoError:
        if name not in self.names():
            near = closest(name, self.names())
            listed = ", ".join(self.names()) or "none"
            return RunrepoError(REF_RULE, f"no data run {name!r} (runs/{dataprep.DATA_DIR}/{name}.yaml)"
                                + (f"; did you mean {near!r}?" if near else "") + f" data runs: {listed}")
        try:
            res = resolve(compose(self.source, f"{dataprep.DATA_DIR}/{name}"))
        except RunrepoError as e:
            return RunrepoError(REF_RULE, f"data run {name!r} does not compose: {e}")
        except RecursionError:
            return RunrepoError(REF_RULE, f"data run {name!r} does not compose: nested too deeply")
        params = res.run.get("parameters")
        prefix = dataprep.dataset_prefix(params)
        return DataRun(name, res.composed.run, normal(prefix) if prefix else None, dataprep.tokenizer_of(params),
                       res.dataset, tuple(res.composed.layers))

    def by_prefix(self, prefix: str) -> DataRun | None:
        """The data run that writes this dataset prefix (the first by name, if several do: data-output)."""
        if self._by_prefix is None:
            self._by_prefix = {}
            for name in sorted(self.names()):
                dr = self.data_run(name)
                if isinstance(dr, DataRun) and dr.prefix:
                    self._by_prefix.setdefault(dr.prefix, dr)
        return self._by_prefix.get(normal(prefix))

    def writers(self, prefix: str) -> list[str]:
        """Every data run that writes this prefix."""
        out = []
        for name in sorted(self.names()):
            dr = self.data_run(name)
            if isinstance(dr, DataRun) and dr.prefix == normal(prefix):
                out.append(name)
        return out

    def external(self, prefix: str) -> External | None:
        if self._external is None:
            self._external = {}
            try:
                for ext in parse(self.source.read_text(NAME)):
                    self._external[normal(ext.prefix)] = ext
            except RunrepoError as e:
                self.problem = e if e.rule == RULE else RunrepoError(RULE, e.message, e.file or FILE, e.line, e.col)
        return self._external.get(normal(prefix))

    def all_files(self) -> list[str]:
        """Every file a path's lookup depends on: each data run's files, and runs/datasets.yaml."""
        files = {FILE}
        for name in self.names():
            dr = self.data_run(name)
            files.update(dr.files if isinstance(dr, DataRun) else (f"{RUNS}/{dataprep.DATA_DIR}/{name}.yaml",))
        return sorted(files)

    def link(self, params: dict[str, Any], composed: Composed) -> Links:
        """Link the data_prefix entries of resolved `params` (in place: `data: NAME` becomes its prefix)."""
        model = params.get("model")
        found = model.get("data") if isinstance(model, dict) else None
        data: dict[str, Any] = found if isinstance(found, dict) else {}
        if "data_prefix" not in data:
            return Links()
        links = Links()
        files: set[str] = set()
        for rel, value in list(entries(data["data_prefix"])):
            path = DATA_PREFIX + rel
            if is_ref(value):
                use = self._named(value[REF], path, composed)
                data["data_prefix"] = set_at(data["data_prefix"], rel, use.prefix)
                files.update(self.data_run(use.name).files)  # type: ignore[union-attr]
            else:
                files.update(self.all_files())
                use = self._path(value, path)
            links.uses.append(use)
            links.matched += [f for f in (use.file or FILE,) if f not in links.matched]
        links.files = sorted(files)
        if any(not u.named for u in links.uses):
            self.external("")  # read runs/datasets.yaml, so that its problem is reported whatever matched
            links.problem = self.problem
        return links

    def claims(self, params: Any, composed: Composed) -> Links:
        """A data run's output: the other data runs, and the runs/datasets.yaml entry, that claim it too."""
        prefix = dataprep.dataset_prefix(params)
        links = Links(files=self.all_files())
        if prefix is None:
            return links
        here = ("parameters", "output_prefix")
        for name in self.writers(prefix):
            dr = self.data_run(name)
            if isinstance(dr, DataRun) and dr.file != composed.run:
                links.uses.append(Use(here, prefix, DATA, dr.name, dr.file, dataset=dr.dataset))
        ext = self.external(prefix)
        if ext is not None:
            links.uses.append(Use(here, prefix, EXTERNAL, file=FILE, line=ext.line, tokenizer=ext.tokenizer))
        links.problem = self.problem
        return links

    def _named(self, name: Any, path: tuple[Any, ...], composed: Composed) -> Use:
        at = composed.origin(path + (REF,))
        if not isinstance(name, str) or not name:
            raise RunrepoError(REF_RULE, f"`data:` names a data run (runs/{dataprep.DATA_DIR}/NAME.yaml), got {name!r}",
                               at.file, at.line, at.col)
        dr = self.data_run(name)
        if isinstance(dr, RunrepoError):
            raise RunrepoError(REF_RULE, dr.message, at.file, at.line, at.col)
        if dr.prefix is None:
            raise RunrepoError(REF_RULE, f"data run {name!r} ({dr.file}) has no valid output_prefix: it writes no "
                                         "dataset to read", at.file, at.line, at.col)
        return Use(path, dr.prefix, DATA, dr.name, dr.file, tokenizer=dr.tokenizer, dataset=dr.dataset, named=True)

    def _path(self, prefix: str, path: tuple[Any, ...]) -> Use:
        dr = self.by_prefix(prefix)
        if dr is not None and dr.prefix:
            return Use(path, prefix, DATA, dr.name, dr.file, tokenizer=dr.tokenizer, dataset=dr.dataset)
        ext = self.external(prefix)
        if ext is not None:
            return Use(path, prefix, EXTERNAL, file=FILE, line=ext.line, tokenizer=ext.tokenizer)
        return Use(path, prefix, UNKNOWN)


def catalog(source: TreeSource) -> Catalog:
    """One catalog per source (a source's files never change), shared by every run it expands."""
    found = source.__dict__.get("_catalog")
    if not isinstance(found, Catalog):
        found = source.__dict__["_catalog"] = Catalog(source)
    return found


def _err(message: str, pos: dict[Any, Any], path: tuple[Any, ...]) -> RunrepoError:
    while path and path not in pos:
        path = path[:-1]
    line, col = pos.get(path, (1, 1))
    return RunrepoError(RULE, message, FILE, line, col)


def parse(text: str | None) -> list[External]:
    """runs/datasets.yaml -> its external datasets ([] without the file); RunrepoError(datasets-file)."""
    if text is None:
        return []
    data, pos = gate.parse_yaml(text, FILE)
    if not isinstance(data, dict) or set(data) - {"version", "external"}:
        extra = sorted(set(data) - {"version", "external"}) if isinstance(data, dict) else []
        raise _err(f"{FILE} is a mapping of `version: 1` and `external:` (a list)"
                   + (f"; unknown key `{extra[0]}`" if extra else ""), pos, (extra[0],) if extra else ())
    if data.get("version") != 1:
        raise _err(f"{FILE}: `version` must be 1", pos, ("version",))
    items = data.get("external") or []
    if not isinstance(items, list):
        raise _err("`external` is a list of {prefix, tokenizer, note}", pos, ("external",))
    out: list[External] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        at = ("external", i)
        if not isinstance(item, dict):
            raise _err("each external dataset is a mapping {prefix, tokenizer, note}", pos, at)
        for key in item:
            if key not in ENTRY_KEYS:
                near = closest(str(key), ENTRY_KEYS)
                raise _err(f"unknown key `{key}`" + (f"; did you mean `{near}`?" if near else f"; known: "
                           f"{', '.join(ENTRY_KEYS)}"), pos, at + (key,))
        prefix, tok = item.get("prefix"), item.get("tokenizer")
        if not isinstance(prefix, str) or not prefix.strip() or prefix.endswith((".bin", ".idx")):
            raise _err("`prefix` is the dataset prefix NeMo reads (without .bin/.idx)", pos, at + ("prefix",))
        if normal(prefix) in seen:
            raise _err(f"{prefix} is declared twice", pos, at + ("prefix",))
        seen.add(normal(prefix))
        if tok is not None and (not isinstance(tok, dict) or set(tok) - set(dataprep.TOKENIZER_KEYS)
                                or "library" not in tok):
            raise _err(f"`tokenizer` is a mapping of {', '.join(dataprep.TOKENIZER_KEYS)} (library required), as a "
                       "training run's model.tokenizer", pos, at + ("tokenizer",))
        out.append(External(prefix, pos.get(at, (0, 0))[0], tok))
    return out
