""".github/workflows/submit.yml: its shape, and its `run:` steps executed in bash with a simulated event.

Steps come from the YAML, never copied here. `uses:` actions and package installs need GitHub or the
network and are skipped with the reason; the test's environment already has runrepo. The platform is
the emulator: MOSAICML_API_ENDPOINT is what the stand-in runner adds (the real runner has none and
mcli then talks to the real API).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import actions_runner
import pytest
import yaml
from submit_helpers import ROOT, TOOLS, ZERO, emu_fixture, live_paths, repo_fixture, run_text  # noqa: F401 (fixtures)

WORKFLOW = ROOT / ".github" / "workflows" / "submit.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_shape_and_security():
    wf = workflow()
    triggers = wf.get("on") or wf.get(True)  # YAML 1.1 reads the key `on` as true
    assert triggers["push"] == {"branches": ["main"], "paths": ["runs/**"]}
    assert "base" in triggers["workflow_dispatch"]["inputs"]
    assert wf["permissions"] == {}
    assert wf["concurrency"]["cancel-in-progress"] is False
    [job] = wf["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    text = WORKFLOW.read_text()
    for step in job["steps"]:
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), step["uses"]
            line = next(ln for ln in text.splitlines() if step["uses"] in ln)
            assert re.search(r"# v\d", line), line
        if "run" in step:
            assert "${{" not in step["run"], "pass values through env:, never into the script"
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["uses"].endswith("11bd71901bbe5b1630ceea73d27597364c9af683")
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["uses"].endswith("a26af69be951a213d495a4c3e4e4022e16d87065")
    # The key reaches exactly one step's env.
    holders = [s for s in job["steps"] if "secrets." in json.dumps(s)]
    assert len(holders) == 1 and holders[0]["env"]["MOSAICML_API_KEY"] == "${{ secrets.MOSAICML_API_KEY }}"
    assert text.count("secrets.") == 1


def run_job(
    workspace: Path,
    tmp: Path,
    endpoint: str,
    *,
    event_name: str,
    event: dict,
    sha: str,
    secrets: dict,
    inputs: dict | None = None,
) -> list[dict]:
    """The job's steps through the shared stand-in runner, with the platform pointed at the emulator."""
    tmp.mkdir(parents=True, exist_ok=True)
    shim = tmp / "bin" / "runrepo"  # `pip install .` would have put `runrepo` on PATH
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m runrepo.cli "$@"\n')
    shim.chmod(0o755)
    github = {
        "event_name": event_name,
        "repository": "acme/runs",
        "ref": "refs/heads/main",
        "sha": sha,
        "base_ref": "",
        "head_ref": "",
    }
    env = {
        "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(TOOLS),
        # the stand-in's platform: the emulator (the real runner reaches the real API)
        "MOSAICML_API_ENDPOINT": endpoint,
        "MCLI_CONFIG_DIR": str(tmp / "mosaic"),
        "MCLI_CONFIG_PATH": str(tmp / "mosaic" / "mcli_config"),
    }
    [job_id] = workflow()["jobs"]
    job = actions_runner.run_job(
        workflow(),
        job_id,
        workspace,
        event,
        github,
        tmp,
        contexts={"secrets": secrets, "inputs": inputs or {}},
        env=env,
    )
    out = []
    for s in job.steps:
        if s.skipped and s.skipped != "an earlier step failed":
            out.append({"name": s.name, "skipped": s.skipped})
        elif not s.skipped:
            out.append({"name": s.name, "code": s.code, "stdout": s.stdout, "stderr": s.stderr, "summary": s.summary})
    return out


def _push(repo, emu, tmp: Path, before: str, after: str, secrets: dict, fork: bool = False) -> dict:
    repository = {"full_name": "acme/runs", "fork": fork}
    event = {"before": before, "after": after, "ref": "refs/heads/main", "repository": repository}
    steps = run_job(repo.path, tmp, emu.endpoint, event_name="push", event=event, sha=after, secrets=secrets)
    skipped = {s["name"]: s["skipped"] for s in steps if "skipped" in s}
    assert set(skipped) == {
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
        "Install",
    }
    [submit_step] = [s for s in steps if "skipped" not in s]
    return submit_step


KEY = {"MOSAICML_API_KEY": "ci-key"}


def test_push_submits_and_a_dropped_run_is_caught_up(repo, emu, tmp_path):
    c0 = repo.head()
    repo.write("runs/experiments/a.yaml", run_text("exp-a"))
    p1 = repo.commit("push 1")
    step = _push(repo, emu, tmp_path / "r1", c0, p1, KEY)
    assert step["code"] == 0, step["stdout"] + step["stderr"]
    assert "::notice file=runs/experiments/a.yaml,title=runrepo submit::created" in step["stdout"]
    assert "| `runs/experiments/a.yaml` |" in step["summary"] and "| created |" in step["summary"]
    assert live_paths(emu) == ["runs/experiments/a.yaml"]
    meta = emu.runs()[0]["details"]["metadata"]
    assert meta["runrepo_repository"] == "acme/runs" and meta["runrepo_commit"] == p1

    repo.write("runs/experiments/b.yaml", run_text("exp-b"))
    p2 = repo.commit("push 2 (its workflow run is dropped)")
    repo.write("runs/experiments/c.yaml", run_text("exp-c"))
    p3 = repo.commit("push 3")
    step = _push(repo, emu, tmp_path / "r3", p2, p3, KEY)
    assert step["code"] == 0, step["stdout"] + step["stderr"]
    assert live_paths(emu) == [f"runs/experiments/{n}.yaml" for n in "abc"]

    step = _push(repo, emu, tmp_path / "r3-again", p2, p3, KEY)  # "re-run all jobs"
    assert step["code"] == 0 and len(emu.runs()) == 3


def test_first_push_of_a_new_branch_submits_every_run(repo, emu, tmp_path):
    step = _push(repo, emu, tmp_path / "r", ZERO, repo.head(), KEY)
    assert step["code"] == 0, step["stderr"]
    assert len(live_paths(emu)) == len(list((repo.path / "runs" / "experiments").glob("*.yaml")))


def test_without_the_secret_it_is_a_notice_not_a_failure(repo, emu, tmp_path):
    c0 = repo.head()
    repo.write("runs/experiments/a.yaml", run_text("exp-a"))
    step = _push(repo, emu, tmp_path / "r", c0, repo.commit("fork push"), {}, fork=True)  # canonical: tests/workflows
    assert step["code"] == 0
    assert step["stdout"].startswith("::notice title=runrepo submit::MOSAICML_API_KEY is not available")
    assert emu.requests() == []


def test_an_invalid_run_fails_the_job_with_an_annotation(repo, emu, tmp_path):
    c0 = repo.head()
    repo.write(
        "runs/experiments/a.yaml", run_text("exp-a").replace("  model:\n", "  model:\n    global_batch_size: 100\n")
    )
    step = _push(repo, emu, tmp_path / "r", c0, repo.commit("bad"), KEY)
    assert step["code"] == 1
    assert re.search(
        r"^::error file=runs/experiments/a\.yaml,title=runrepo submit::not submitted: .*batch-divisible",
        step["stdout"],
        re.M,
    )


@pytest.mark.parametrize("given", [True, False])
def test_dispatch_backfill(repo, emu, tmp_path, given):
    c0 = repo.head()
    repo.write("runs/experiments/a.yaml", run_text("exp-a"))
    head = repo.commit("merged while the platform key was missing")
    inputs = {"base": c0 if given else ""}
    steps = run_job(
        repo.path,
        tmp_path / "d",
        emu.endpoint,
        event_name="workflow_dispatch",
        event={"inputs": inputs},
        sha=head,
        secrets=KEY,
        inputs=inputs,
    )
    step = steps[-1]
    if given:
        assert step["code"] == 0 and live_paths(emu) == ["runs/experiments/a.yaml"]
    else:  # nothing submitted yet and no base given: a clear usage error, nothing sent
        assert step["code"] == 2 and "give --fallback-base" in step["stderr"]
        assert not emu.requests("createRun")
