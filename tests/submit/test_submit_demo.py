"""`runrepo demo`: the README's main command, as a newcomer runs it (a real process, no credentials)."""

from __future__ import annotations

import os
import subprocess
import sys

from submit_helpers import ROOT, TOOLS


def test_demo_checks_submits_twice_and_duplicates_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOSAICML_", "MCLI_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(TOOLS))
    done = subprocess.run(
        [sys.executable, "-m", "runrepo.cli", "demo", "--repo", str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for section in ("runrepo check --all", "emulator", "every bundled run", "nothing is created twice", "stopped"):
        assert section in out
    runs = sorted(p.name for p in (ROOT / "runs" / "experiments").glob("*.yaml"))
    assert out.count(" created\n") == len(runs) and out.count(" existing\n") == len(runs)
    assert f"platform: {len(runs)} live run(s) for {len(runs)} run file(s)" in out
    assert out.rstrip().endswith("demo: OK")
    assert not (tmp_path / ".mosaic").exists()  # no mcli config written for the user
