"""Helpers for `runrepo status` and `runrepo logs` tests: submit_helpers' repositories and emulator,
and the command run in this process."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

for _folder in ("submit", "workflows"):  # submit_helpers (emulator, scratch repositories), wf_helpers
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _folder))

from submit_helpers import (  # noqa: E402,F401 (fixtures and helpers re-exported)
    BUNDLED,
    REPOSITORY,
    ZERO,
    Repo,
    emu_fixture,
    repo_fixture,
    run_text,
    submit,
)


def runrepo(repo: Repo, *args: str) -> tuple[int, str, str]:
    """`runrepo ARGS --repo REPO` in this process: (exit code, stdout, stderr)."""
    from runrepo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--repo", str(repo.path)])
    return code, out.getvalue(), err.getvalue()


def status_json(repo: Repo, *args: str) -> tuple[int, dict, str]:
    code, out, err = runrepo(repo, "status", "--format", "json", *args)
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, {"raw": out}, err


def files(data: dict) -> dict[str, dict]:
    return {f["file"]: f for f in data.get("files", [])}


def record(emu, path: str, repository: str = REPOSITORY) -> dict:
    (run,) = [r for r in emu.runs() if r["details"]["metadata"].get("runrepo_path") == path
              and r["details"]["metadata"].get("runrepo_repository") == repository]
    return run
