"""The only code that runs git. Everything is read with `-z` (no quoting of non-ASCII paths).

Revisions are resolved to full SHAs at the edges; an all-zero SHA (GitHub's "no previous
commit") means "nothing": diffs against it compare with the empty tree.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cached_property
from pathlib import Path

from .errors import RunrepoError

ZERO = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_SHA = re.compile(r"[0-9a-f]{40}")


def is_zero(rev: str | None) -> bool:
    """True for an absent revision or GitHub's all-zero SHA."""
    return not rev or set(rev) == {"0"}


class Git:
    """git in one repository; answers that cannot change (ancestry, blobs) are cached."""

    def __init__(self, repo: Path | str):
        self.repo = Path(repo).resolve()
        self._ancestor: dict[tuple[str, str], bool] = {}

    def run(self, *args: str, input: bytes | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> bytes:
        """stdout of `git args...`; a failure is one RunrepoError line, never a traceback."""
        try:
            done = subprocess.run(["git", *args], cwd=self.repo, input=input, capture_output=True, env=env)
        except FileNotFoundError:
            raise RunrepoError("git", "git is not installed") from None
        except NotADirectoryError:
            raise RunrepoError("git", f"{self.repo} is not a folder") from None
        if check and done.returncode:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            raise RunrepoError("git", lines[-1] if lines else f"git {args[0]} failed")
        return done.stdout

    def text(self, *args: str) -> str:
        return os.fsdecode(self.run(*args))

    # ---- revisions ------------------------------------------------------------------------
    def rev_parse(self, rev: str) -> str | None:
        """The commit SHA `rev` names, or None."""
        out = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).decode().strip()
        return out if _SHA.fullmatch(out) else None

    def commit(self, rev: str, what: str = "revision") -> str:
        """The commit SHA of `rev`, or a usage error naming the option it came from."""
        sha = self.rev_parse(rev)
        if sha is None:
            hint = " (fetch full history: actions/checkout fetch-depth: 0)" if "base" in what else ""
            raise RunrepoError("usage", f"{what} {rev}: not a commit in {self.repo}{hint}")
        return sha

    def merge_base(self, base: str, head: str) -> str:
        """The commit to compare head with; the empty tree for a zero base or unrelated histories."""
        if is_zero(base):
            return EMPTY_TREE
        base_sha = self.commit(base, "base")
        out = self.run("merge-base", base_sha, head, check=False).decode().strip()
        return out or EMPTY_TREE

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """`ancestor` is `commit` or reachable from it; an unknown commit is nobody's ancestor."""
        if not ancestor or not commit or not _SHA.fullmatch(ancestor) or not _SHA.fullmatch(commit):
            return False
        key = (ancestor, commit)
        if key not in self._ancestor:
            done = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit], cwd=self.repo,
                                  capture_output=True)
            self._ancestor[key] = done.returncode == 0
        return self._ancestor[key]

    def history(self, head: str) -> dict[str, int]:
        """Commits reachable from head -> position in `git rev-list` order (0 = head)."""
        return {sha: i for i, sha in enumerate(self.text("rev-list", head).split())}

    def first_parents(self, rng: str) -> list[str]:
        """The first-parent chain of a range (`base..head`, or `head` for all), newest first: the
        states a branch such as main went through, one per push or merge."""
        return self.text("rev-list", "--first-parent", rng).split()

    def commit_time(self, rev: str) -> int:
        """Committer time (Unix seconds) of a commit."""
        return int(self.text("log", "-1", "--format=%ct", rev).strip() or 0)

    def subject(self, rev: str) -> str:
        return self.text("log", "-1", "--format=%s", rev).strip()

    @cached_property
    def root_time(self) -> int:
        """Committer time of the oldest root commit of HEAD's history: nothing of this repository
        is older."""
        roots = self.text("rev-list", "--max-parents=0", "HEAD").split()
        return min((self.commit_time(r) for r in roots), default=0)

    # ---- trees and blobs ------------------------------------------------------------------
    def ls_tree(self, rev: str, folder: str) -> dict[str, tuple[str, str]]:
        """path -> (mode, blob sha) of every blob under `folder` at `rev` (submodules left out)."""
        out = self.run("ls-tree", "-r", "-z", "--full-tree", rev, "--", folder + "/")
        tree = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, kind, sha = meta.decode().split()
            if kind == "blob":  # a submodule (commit) has no blob to read
                tree[os.fsdecode(path)] = (mode, sha)
        return tree

    def blobs(self, shas: list[str]) -> dict[str, bytes]:
        """Blob contents, all in one `git cat-file --batch` process."""
        if not shas:
            return {}
        out = self.run("cat-file", "--batch", input="".join(s + "\n" for s in shas).encode())
        found, i = {}, 0
        while i < len(out):
            nl = out.index(b"\n", i)
            got, _kind, size = out[i:nl].decode().split()
            found[got] = out[nl + 1 : nl + 1 + int(size)]
            i = nl + 1 + int(size) + 1
        return found

    def diff(self, base: str, head: str, folder: str) -> list[tuple[str, str, str]]:
        """(status letter, path, old path) of files under `folder` between two trees, renames found."""
        out = self.run("diff", "-z", "--name-status", "-M", "--no-ext-diff", base, head, "--", folder + "/")
        parts = [os.fsdecode(p) for p in out.split(b"\0")]
        changes, i = [], 0
        while i < len(parts) and parts[i]:
            status = parts[i][0]
            if status in "RC":
                changes.append((status, parts[i + 2], parts[i + 1]))
                i += 3
            else:
                changes.append((status, parts[i + 1], ""))
                i += 2
        return changes

    # ---- history of paths -----------------------------------------------------------------
    def last_changes(self, rng: str, paths: list[str], folder: str) -> dict[str, tuple[str, list[str]]]:
        """path -> (the newest first-parent commit of `rng` that changed its content, the names it had
        before pure renames since then).

        Each first-parent commit counts as the change it brought in against its first parent, so a
        merge counts as the change it merged, whatever the dates of the merged commits: this is the
        state at which the branch (main) first had the file as it is. A pure rename (same blob)
        changes no content: the file is followed to its earlier name. A path whose content did not
        change within the range is left out."""
        if not paths:
            return {}
        out = self.run("log", "--first-parent", "--diff-merges=first-parent", "-M", "-z", "--name-status",
                       "--format=%x01%H", rng, "--", folder + "/")
        tracking = {p: p for p in paths}  # name being followed -> the path asked for
        aliases: dict[str, list[str]] = {p: [] for p in paths}
        found: dict[str, tuple[str, list[str]]] = {}
        for chunk in out.split(b"\x01")[1:]:
            head, *raw = chunk.split(b"\0")
            sha = head.decode().strip()
            fields = [os.fsdecode(f.strip(b"\n")) for f in raw]
            i = 0
            while i < len(fields) and fields[i]:
                status = fields[i]
                if status[0] in "RC":
                    old, new, i = fields[i + 1], fields[i + 2], i + 3
                else:
                    old, new, i = "", fields[i + 1], i + 2
                asked = tracking.pop(new, None)
                if asked is None:
                    continue
                if status == "R100":
                    tracking[old] = asked  # the same content under its earlier name
                    aliases[asked].append(old)
                else:
                    found[asked] = (sha, aliases[asked])
            if not tracking:
                break
        return found

    def first_added(self, head: str, paths: list[str]) -> dict[str, int]:
        """path -> committer time of the oldest commit in head's history that adds it: no run
        submitted from this history for that path can be older."""
        if not paths:
            return {}
        out = self.run("log", "-z", "--name-only", "--diff-filter=A", "--format=%x01%ct", head, "--", *paths)
        found: dict[str, int] = {}
        for chunk in out.split(b"\x01")[1:]:
            head_line, *names = chunk.split(b"\0")
            when = int(head_line.decode().strip() or 0)
            for name in names:
                path = os.fsdecode(name.strip(b"\n"))
                if path:
                    found[path] = min(when, found.get(path, when))
        return found

    def trailers(self, rng: str, key: str) -> list[tuple[str, list[str]]]:
        """(commit, values of trailer `key`) for every commit of the range that has one, newest first."""
        out = self.text("log", f"--format=%x01%H%x02%(trailers:key={key},valueonly,separator=%x00)", rng)
        found = []
        for chunk in out.split("\x01")[1:]:
            sha, _, rest = chunk.partition("\x02")
            values = [v.strip() for part in rest.split("\0") for v in part.splitlines() if v.strip()]
            if values:
                found.append((sha.strip(), values))
        return found

    def remote_repository(self) -> str:
        """`owner/name` of the `origin` remote on GitHub (as $GITHUB_REPOSITORY spells it), else its
        host/path; "" without a remote."""
        url = self.run("remote", "get-url", "origin", check=False).decode().strip()
        m = re.match(r"^(?:[a-z+]+://)?(?:[^@/]+@)?([^/:]+)[:/](.+?)(?:\.git)?/?$", url)
        if not m:
            return ""
        host, path = m.groups()
        return path if host.lower() == "github.com" else f"{host}/{path}"
