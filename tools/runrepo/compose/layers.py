"""Where layers come from: the working tree or a git commit, both through the gate."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunrepoError
from . import gate

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
            self._cache[name] = hit
        if isinstance(hit, RunrepoError):
            if cited_by and hit.rule in ("layer-missing", "layer-escape"):
                raise RunrepoError(hit.rule, hit.message, cited_by.file, cited_by.line, cited_by.col)
            raise hit
        return hit

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

    _instances: dict = {}

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
        self.rev = rev
        self.label = rev
        self._tree = self._ls_tree()
        self._blobs: dict[str, bytes] | None = None

    def _git(self, *args: str, input: bytes | None = None) -> bytes:
        try:
            return subprocess.run(
                ["git", *args], cwd=self.repo_root, input=input, capture_output=True, check=True
            ).stdout
        except subprocess.CalledProcessError as e:
            raise RunrepoError("git", e.stderr.decode(errors="replace").strip() or f"git {args[0]} failed") from None

    def _ls_tree(self) -> dict[str, tuple[str, str]]:
        out = self._git("ls-tree", "-r", "-z", "--full-tree", self.rev, "--", RUNS + "/")
        tree = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, kind, sha = meta.decode().split()
            if kind != "blob":  # a submodule (commit) has no blob to read: `cat-file --batch` says "missing"
                continue
            tree[gate.printable(os.fsdecode(path))] = (mode, sha)
        return tree

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
            raise RunrepoError("layer-missing", f"no such layer {name!r} ({file}) at {self.rev}", *where)
        mode, sha = entry
        if mode == "120000":
            raise RunrepoError("layer-escape", f"{file} is a symlink; layers must be regular files", *where)
        text = gate.decode(self._blob(sha), file)
        return gate.load_text_layer(text, file, name)

    def _blob(self, sha: str) -> bytes:
        """All of runs/ is read in one `git cat-file --batch` call: one process, not one per layer."""
        if self._blobs is None:
            shas = sorted({s for mode, s in self._tree.values() if mode != "120000"})
            out = self._git("cat-file", "--batch", input="".join(s + "\n" for s in shas).encode())
            self._blobs, i = {}, 0
            while i < len(out):
                nl = out.index(b"\n", i)
                got, _kind, size = out[i:nl].decode().split()
                self._blobs[got] = out[nl + 1 : nl + 1 + int(size)]
                i = nl + 1 + int(size) + 1
        return self._blobs[sha]
