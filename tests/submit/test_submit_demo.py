"""`runrepo demo`: the README's main command, as a newcomer runs it (a real process, no credentials)."""

from __future__ import annotations

import os
import subprocess
import sys

from submit_helpers import ROOT, TOOLS


def test_demo_checks_submits_waits_for_data_and_duplicates_nothing(tmp_path):
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
    for section in ("runrepo check --all", "emulator", "every bundled run", "nothing twice", "nothing is created",
                    "stopped"):
        assert section in out
    runs = sorted(p.name for d in ("experiments", "data") for p in (ROOT / "runs" / d).glob("*.yaml"))
    # every run created once; the training run that reads the data run waits for it, then is created
    assert out.count(" created\n") == len(runs) and out.count(" waiting\n") == 1
    assert out.count(" existing\n") == 2 * len(runs) - 1
    assert "gpt3-126m-wiki.yaml: waiting for data: wiki_gpt2" in out
    assert f"platform: {len(runs)} live run(s) for {len(runs)} run file(s)" in out
    assert out.rstrip().endswith("demo: OK")
    assert not (tmp_path / ".mosaic").exists()  # no mcli config written for the user
