""".github/workflows/status.yml: its shape, and its `run:` steps executed in bash against the emulator.

Steps come from the YAML, never copied here; `uses:` actions and the install are skipped by the
stand-in runner (tests/actions_runner.py) with the reason, the test's environment has runrepo.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import actions_runner
import pytest
from lifecycle_helpers import BUNDLED, ZERO, emu_fixture, record, repo_fixture, submit  # noqa: F401 (fixtures)
from submit_helpers import TOOLS  # noqa: I001 (importable once lifecycle_helpers has set the path)
from wf_helpers import WORKFLOWS, load

WORKFLOW = WORKFLOWS / "status.yml"
ONE, TWO = BUNDLED


def test_shape_read_only_daily_and_on_demand():
    wf = load(WORKFLOW)
    assert set(wf["on"]) == {"schedule", "workflow_dispatch"} and len(wf["on"]["schedule"]) == 1
    assert wf["permissions"] == {}
    assert list(wf["jobs"]) == ["catch-up", "status"]
    (submit_job,) = load(WORKFLOWS / "submit.yml")["jobs"].values()
    for job in wf["jobs"].values():
        assert job["permissions"] == {"contents": "read"} and job["environment"] == "platform"
        holders = [s for s in job["steps"] if "secrets." in json.dumps(s)]
        assert len(holders) == 1 and holders[0]["env"]["MOSAICML_API_KEY"] == "${{ secrets.MOSAICML_API_KEY }}"
        install = next(s for s in job["steps"] if s.get("name") == "Install")["run"]
        assert install == next(s for s in submit_job["steps"] if s.get("name") == "Install")["run"]  # hash-pinned
    catch_up, status = wf["jobs"]["catch-up"], wf["jobs"]["status"]
    # one submission at a time with submit.yml's, never cancelled midway; the status table also after a red one
    assert catch_up["concurrency"] == {"group": load(WORKFLOWS / "submit.yml")["concurrency"]["group"],
                                       "cancel-in-progress": "false"}  # wf_helpers keeps scalars as text
    assert status["needs"] == "catch-up" and status["if"] == "${{ !cancelled() }}"
    assert "runrepo submit --base auto" in catch_up["steps"][-1]["run"]
    assert "runrepo status --all --format markdown" in status["steps"][-1]["run"]


def _run(repo, tmp: Path, endpoint: str, secrets: dict, repository: dict | None = None, job_id: str = "status"):
    tmp.mkdir(parents=True, exist_ok=True)
    shim = tmp / "bin" / "runrepo"  # what `pip install .` puts on PATH
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m runrepo.cli "$@"\n')
    shim.chmod(0o755)
    github = {"event_name": "schedule", "repository": "acme/runs", "ref": "refs/heads/main", "sha": repo.head(),
              "base_ref": "", "head_ref": ""}
    env = {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(TOOLS),
           "MOSAICML_API_ENDPOINT": endpoint,  # the stand-in's platform (the real runner reaches the real API)
           "MCLI_CONFIG_DIR": str(tmp / "mosaic"), "MCLI_CONFIG_PATH": str(tmp / "mosaic" / "mcli_config")}
    event = {"schedule": "23 6 * * *", "repository": repository or {"full_name": "acme/runs", "fork": False}}
    job = actions_runner.run_job(load(WORKFLOW), job_id, repo.path, event, github, tmp,
                                 contexts={"secrets": secrets}, env=env)
    (step,) = [s for s in job.steps if not s.skipped]
    assert step.name == {"status": "Status", "catch-up": "Catch up"}[job_id]
    assert {s.name for s in job.steps if s.skipped} == {
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065", "Install"}
    return step


def test_the_job_summary_is_the_status_table_and_a_failed_run_is_red(repo, emu, tmp_path):
    assert submit(repo, "--base", ZERO)[0] == 0
    one, two = record(emu, ONE)["name"], record(emu, TWO)["name"]
    emu.set_status(one, "RUNNING")
    submitted = len(emu.requests())
    step = _run(repo, tmp_path / "ok", emu.endpoint, {"MOSAICML_API_KEY": "ci-key"})
    assert step.code == 0, step.stderr
    assert step.summary.startswith("### Run status\n") and f"| {one} | running |" in step.summary
    assert f"| {two} | pending |" in step.summary and step.stdout == ""
    emu.set_status(two, "FAILED", "OOMKilled")
    step = _run(repo, tmp_path / "red", emu.endpoint, {"MOSAICML_API_KEY": "ci-key"})
    assert step.code == 1 and f"| {two} | **failed** |" in step.summary and f"{two} failed: OOMKilled" in step.summary
    assert all(e["operation"] in ("getUsers", "getRunsPaginated") for e in emu.requests()[submitted:])


@pytest.mark.parametrize("fork", [False, True])
def test_without_the_key(repo, emu, tmp_path, fork):
    step = _run(repo, tmp_path / "k", emu.endpoint, {}, {"full_name": "acme/runs", "fork": fork, "topics": []})
    if fork:
        assert step.code == 0 and step.stdout.startswith("::notice title=runrepo status::")
    else:
        assert step.code == 1 and step.stdout.startswith("::error title=runrepo status::MOSAICML_API_KEY is not set")
    assert emu.requests() == [] and step.summary == ""


def test_the_catch_up_submits_a_run_whose_data_has_completed_once(emu, tmp_path):
    """The chain through the workflow's own step: merged, held for its data, submitted by the schedule."""
    from lifecycle_helpers import Repo
    from submit_helpers import DATA_RUN, READER

    repo = Repo(tmp_path / "data-repo", data=True)
    key = {"MOSAICML_API_KEY": "ci-key"}
    step = _run(repo, tmp_path / "none", emu.endpoint, key, job_id="catch-up")
    assert step.code == 0 and emu.runs() == []  # no submission of this history yet: nothing to catch up
    assert submit(repo, "--base", ZERO)[0] == 0  # the merge: the data run is created, the reader held
    assert [r for r in emu.runs() if r["details"]["metadata"]["runrepo_path"] == READER] == []
    step = _run(repo, tmp_path / "early", emu.endpoint, key, job_id="catch-up")
    assert step.code == 0 and f"::notice file={READER},title=runrepo submit::waiting for data: wiki_gpt2" in step.stdout
    status = _run(repo, tmp_path / "st", emu.endpoint, key)
    assert status.code == 0 and "| waiting |" in status.summary and "waiting for data: wiki_gpt2" in status.summary
    emu.set_status(record(emu, DATA_RUN)["name"], "COMPLETED")
    step = _run(repo, tmp_path / "ready", emu.endpoint, key, job_id="catch-up")
    assert step.code == 0, step.stdout + step.stderr
    assert f"::notice file={READER},title=runrepo submit::created" in step.stdout
    step = _run(repo, tmp_path / "again", emu.endpoint, key, job_id="catch-up")
    assert step.code == 0 and len([r for r in emu.runs() if r["details"]["metadata"]["runrepo_path"] == READER]) == 1
