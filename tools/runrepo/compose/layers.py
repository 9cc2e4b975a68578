"""Where layers come from: the working tree or a git commit, both through the gate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..errors import RunrepoError
from ..git import Git
from . import gate
from .choices import hint

RUNS = "runs"


@dataclass(frozen=True)
class Origin:
    """The file, line and column that set a value."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file


class TreeSource:
    """Layers from a checkout's runs/ folder, parsed once and cached (they are shared by many runs)."""

    def __init__(self, repo_root: Path | str = "."):
        self.repo_root = Path(repo_root).resolve()
        self.runs_dir = self.repo_root / RUNS
        self.label = "working tree"
        self._cache: dict[str, gate.Layer | RunrepoError] = {}

    def layer(self, name: str, cited_by: Origin | None = None) -> gate.Layer:
        hit = self._cache.get(name)
        if hit is None:
            try:
                hit = gate.load_layer(self.runs_dir, name, self.repo_root, str(cited_by) if cited_by else "")
            except RunrepoError as e:
                hit = e
                if e.rule == "layer-missing" and e.message.startswith("no such layer"):
                    hit = RunrepoError(e.rule, e.message + hint(name, self.names()), e.file, e.line, e.col)
            self._cache[name] = hit
        if isinstance(hit, RunrepoError):
            if cited_by and hit.rule in ("layer-missing", "layer-escape"):
                raise RunrepoError(hit.rule, hit.message, cited_by.file, cited_by.line, cited_by.col)
            raise hit
        return hit

    def read_text(self, name: str) -> str | None:
        """runs/<name>.yaml through the gate (confined to runs/, size, UTF-8); None if absent.

        For files under runs/ that are not layers (runs/policy.yaml)."""
        path = self.runs_dir / f"{name}.yaml"
        if not path.exists() and not path.is_symlink():
            return None
        file = f"{RUNS}/{name}.yaml"
        return gate.read_text(gate.confine(self.runs_dir, name, file), file)

    def files(self, folder: str) -> list[str]:
        """Every file under runs/<folder>/, whatever its name, repository-relative."""
        root = self.runs_dir / folder
        if not root.is_dir():
            return []
        return sorted(gate.printable(p.relative_to(self.repo_root).as_posix()) for p in root.rglob("*")
                      if p.is_file() or p.is_symlink())

    def names(self) -> list[str]:
        """Every layer name under runs/ (symlinks included: the gate judges them)."""
        if not self.runs_dir.is_dir():
            return []
        # An undecodable file name comes back escaped (`\\xff`); the gate then refuses it by name.
        return sorted(
            gate.printable(p.relative_to(self.runs_dir).with_suffix("").as_posix())
            for p in self.runs_dir.rglob("*.yaml")
        )


class GitSource(TreeSource):
    """Layers as they are in a commit, read with `git cat-file`, never touching the working tree."""

    _instances: ClassVar[dict[tuple[str, str], GitSource]] = {}

    @classmethod
    def at(cls, repo_root: Path | str, rev: str) -> GitSource:
        """One source per (repository, commit) in a process: a commit's layers never change, so
        change detection, plan and submit share what each has parsed and composed."""
        key = (str(Path(repo_root).resolve()), rev)
        if key not in cls._instances:
            cls._instances[key] = cls(repo_root, rev)
        return cls._instances[key]

    def __init__(self, repo_root: Path | str, rev: str):
        super().__init__(repo_root)
        self.git = Git(self.repo_root)
        self.rev = rev
        self.label = rev
        self._tree = {gate.printable(p): entry for p, entry in self.git.ls_tree(rev, RUNS).items()}
        self._blobs: dict[str, bytes] | None = None

    def read_text(self, name: str) -> str | None:
        file = f"{RUNS}/{name}.yaml"
        entry = self._tree.get(file)
        if entry is None:
            return None
        if entry[0] == "120000":
            raise RunrepoError("layer-escape", f"{file} is a symlink at {self.rev}; it must be a regular file", file)
        return gate.decode(self._blob(entry[1]), file)

    def files(self, folder: str) -> list[str]:
        prefix = f"{RUNS}/{folder}/"
        return sorted(p for p in self._tree if p.startswith(prefix))

    def names(self) -> list[str]:
        n = len(RUNS) + 1
        return sorted(p[n:-5] for p in self._tree if p.endswith(".yaml"))

    def layer(self, name: str, cited_by: Origin | None = None) -> gate.Layer:
        hit = self._cache.get(name)
        if hit is None:
            try:
                hit = self._load(name, cited_by)
            except RunrepoError as e:
                hit = e
            self._cache[name] = hit
        if isinstance(hit, RunrepoError):
            raise hit
        return hit

    def _load(self, name: str, cited_by: Origin | None) -> gate.Layer:
        file = f"{RUNS}/{name}.yaml"
        where = (cited_by.file, cited_by.line, cited_by.col) if cited_by else (file,)
        if any(p in ("..", ".", "") for p in name.split("/")) or "\\" in name or not name.isprintable():
            raise RunrepoError("layer-escape", f"config name {name!r} leaves runs/ or is not a plain path", *where)
        entry = self._tree.get(file)
        if entry is None:
            raise RunrepoError("layer-missing", f"no such layer {name!r} ({file}) at {self.rev}{hint(name, self.names())}",
                               *where)
        mode, sha = entry
        if mode == "120000":
            raise RunrepoError("layer-escape", f"{file} is a symlink; layers must be regular files", *where)
        text = gate.decode(self._blob(sha), file)
        return gate.load_text_layer(text, file, name)

    def _blob(self, sha: str) -> bytes:
        """All of runs/ is read in one `git cat-file --batch` call: one process, not one per layer."""
        if self._blobs is None:
            self._blobs = self.git.blobs(sorted({s for mode, s in self._tree.values() if mode != "120000"}))
        return self._blobs[sha]
