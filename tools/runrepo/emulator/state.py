"""Emulator state: one JSON file, shared by every process that opens it.

Each read-modify-write holds an exclusive fcntl.flock on a sidecar lock file, so
several emulator processes (or a test reading state directly) never interleave
writes. Writes go to a temp file and are renamed in, so a reader that skips the
lock still never sees a half-written file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE_VERSION = 1


class StateError(Exception):
    """The state file exists but cannot be used (unreadable or not emulator state)."""


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "seq": 0, "runs": []}


class StateStore:
    """Run records persisted in `path`, guarded by `path + '.lock'`."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # flock already excludes other open file descriptions, threads included;
        # the thread lock just avoids piling every handler thread onto the kernel lock.
        self._thread_lock = threading.Lock()

    def ensure(self) -> None:
        """Create the file (and its directory) if missing; refuse a foreign file early."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.transaction():
            pass

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[dict[str, Any]]:
        """Yield the state dict under the lock; persist it on clean exit when `write`."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.lock_path, "a+") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            try:
                state = self._load()
                yield state
                if write:
                    self._save(state)
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def read(self) -> dict[str, Any]:
        with self.transaction(write=False) as state:
            return state

    def reset(self) -> None:
        with self.transaction() as state:
            state.clear()
            state.update(empty_state())

    def runs(self, include_deleted: bool = True) -> list[dict[str, Any]]:
        runs = self.read()["runs"]
        return [r for r in runs if include_deleted or not r.get("isDeleted")]

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return empty_state()
        except OSError as e:
            raise StateError(f"cannot read state file {self.path}: {e.strerror}") from e
        if not text.strip():
            return empty_state()
        try:
            state = json.loads(text)
        except json.JSONDecodeError as e:
            raise StateError(f"state file {self.path} is not valid JSON: {e}") from e
        if not isinstance(state, dict) or not isinstance(state.get("runs"), list):
            raise StateError(f"state file {self.path} does not hold emulator state")
        state.setdefault("seq", len(state["runs"]))
        state.setdefault("version", STATE_VERSION)
        return state

    def _save(self, state: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                # Compact on purpose: indent= switches json to its pure-Python encoder (4x slower).
                f.write(json.dumps(state, sort_keys=True) + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
