"""What `runrepo submit` sends equals what the official `mcli run -f <rendered file>` sends (metadata aside).

Both land in the emulator, which stores the createRun `runInput` exactly as received.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from submit_helpers import BUNDLED, ZERO, cli_env, emu_fixture, repo_fixture, submit  # noqa: F401 (fixtures)


@pytest.mark.parametrize("run_file", BUNDLED)
def test_run_input_matches_mcli_run(run_file, repo, emu, tmp_path):
    from runrepo.cli import main

    code, data, err = submit(repo, "--base", ZERO)
    assert code == 0, err
    ours = next(r for r in emu.runs() if r["details"]["metadata"]["runrepo_path"] == run_file)

    import contextlib
    import io

    rendered = io.StringIO()
    with contextlib.redirect_stdout(rendered):
        assert main(["render", "--repo", str(repo.path), str(repo.path / run_file)]) == 0
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered.getvalue())
    mcli = Path(sys.executable).with_name("mcli")  # the venv's official CLI
    mcli = str(mcli) if mcli.exists() else shutil.which("mcli") or "mcli"
    done = subprocess.run(
        [mcli, "run", "-f", str(path), "--no-follow"],
        env=cli_env(emu, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = next(
        r for r in emu.runs() if r["id"] != ours["id"] and r["details"]["metadata"].get("runrepo_path") == run_file
    )

    def body(record):
        return {k: v for k, v in record["details"]["originalRunInput"].items() if k != "metadata"}

    assert body(ours) == body(theirs)
    # metadata: submit adds where the run came from, on top of what render prints
    assert {k: v for k, v in ours["details"]["metadata"].items() if k in theirs["details"]["metadata"]} == (
        theirs["details"]["metadata"]
    )
    assert set(ours["details"]["metadata"]) - set(theirs["details"]["metadata"]) == {
        "runrepo_commit",
        "runrepo_base",
        "runrepo_repository",
    }
