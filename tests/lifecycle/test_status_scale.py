"""`runrepo status --all` over 1,000 run files and 1,150 platform runs: one paginated listing, timed.

The platform is filled in one write (Emulator.seed, each run validated as createRun validates it,
from the input mcli itself builds for create_run), then read by `runrepo status` through the real mcli.
`pytest -s` prints the timing.
"""

from __future__ import annotations

import copy
import sys
import time
from types import SimpleNamespace

from lifecycle_helpers import ZERO, emu_fixture, files, status_json  # noqa: F401 (fixture)
from runrepo_testing import ROOT

N = 1000
OTHER = 150  # identical runs of another repository: listed (the same pages), never shown


def _inputs(repo_path, repository: str) -> list[dict]:
    from mcli.models.run_config import FinalRunConfig, RunConfig
    from runrepo.submit.platform import Repository
    from runrepo.submit.select import select

    selection = select(repo_path, ZERO, "HEAD", Repository(repository))
    assert len(selection.to_submit) == N
    return [FinalRunConfig.finalize_config(RunConfig.from_dict(copy.deepcopy(c.run))).to_create_run_api_input()["runInput"]
            for c in selection.to_submit]


def test_status_of_1000_run_files_reads_one_paginated_listing(tmp_path, emu):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synth import make_repo

    path = make_repo(tmp_path / "big", N, seed=3, git=True)
    ours = _inputs(path, "acme/runs")
    theirs = copy.deepcopy(ours[:OTHER])
    for ri in theirs:
        ri["metadata"]["runrepo_repository"] = "acme/other"
    emu.set_lifecycle("RUNNING@0")
    emu.seed(theirs + ours)
    before = len(emu.requests())
    start = time.perf_counter()
    code, data, err = status_json(SimpleNamespace(path=path), "--all")
    seconds = time.perf_counter() - start
    asked = emu.requests()[before:]
    by = files(data)
    assert code == 0, err
    assert len(by) == N and all(len(f["runs"]) == 1 and f["current"] and f["state"] == "running" for f in by.values())
    assert {r["repository"] for f in by.values() for r in f["runs"]} == {"acme/runs"}
    pages = -(-(N + OTHER) // 100)
    assert data["platform"]["listed"] == N + OTHER and data["platform"]["pages"] == pages
    # mcli asks who we are once (for the organisation of all_users), then reads the pages: nothing per file
    assert [e["operation"] for e in asked] == ["getUsers"] + ["getRunsPaginated"] * pages
    assert [line for line in err.splitlines() if "listing platform runs" in line][-1].endswith(
        f"page {pages} ({N + OTHER} runs)")
    print(f"\nrunrepo status --all: {N} run files, {N + OTHER} platform runs in {pages} pages: {seconds:.2f} s "
          f"(listing {data['platform']['seconds']:.2f} s)")
