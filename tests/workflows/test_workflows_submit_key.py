"""submit.yml without MOSAICML_API_KEY: red on the canonical repository, a green notice on a fork or mirror.

The job's `run:` steps go through the stand-in runner with a push event; the key check comes before
anything else, so no platform is needed. With a key the flow is tested in tests/submit/.
"""

from __future__ import annotations

import pytest
from actions_runner import run_job
from wf_helpers import WORKFLOWS, load

SHA = "1" * 40
CASES = {
    "canonical": ({"fork": False, "topics": ["nemo"]}, 1, "::error title=runrepo submit::MOSAICML_API_KEY is not set"),
    "fork": ({"fork": True, "topics": []}, 0, "::notice title=runrepo submit::MOSAICML_API_KEY is not available"),
    "mirror": ({"fork": False, "topics": ["runrepo-mirror"]}, 0, "::notice title=runrepo submit::"),
}


def submit_step(tmp_path, repository: dict, secrets: dict):
    event = {"before": "0" * 40, "after": SHA, "ref": "refs/heads/main", "repository": repository}
    github = {"event_name": "push", "repository": "acme/runs", "ref": "refs/heads/main", "sha": SHA}
    github |= {"base_ref": "", "head_ref": ""}
    wf = load(WORKFLOWS / "submit.yml")
    (job_id,) = wf["jobs"]
    runner = tmp_path / "runner"
    runner.mkdir()
    fail = tmp_path / "bin" / "runrepo"  # reached only past the key check
    fail.parent.mkdir()
    fail.write_text("#!/bin/sh\necho 'runrepo was called' >&2\nexit 3\n")
    fail.chmod(0o755)
    contexts = {"secrets": secrets, "inputs": {}}
    job = run_job(
        wf, job_id, tmp_path, event, github, runner, contexts=contexts, env={"PATH": f"{fail.parent}:/usr/bin:/bin"}
    )
    (step,) = [s for s in job.steps if not s.skipped]
    assert step.name == "Submit"
    return step


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_missing_key(tmp_path, case):
    repository, code, message = CASES[case]
    step = submit_step(tmp_path, {"full_name": "acme/runs", **repository}, {})
    assert (step.code, step.stdout.splitlines()[0].startswith(message)) == (code, True), step.stdout
    assert "runrepo was called" not in step.stderr


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_with_a_key_every_repository_submits(tmp_path, case):
    """The fork/mirror rule only speaks when the key is missing: with a key, runrepo is called."""
    step = submit_step(tmp_path, {"full_name": "acme/runs", **CASES[case][0]}, {"MOSAICML_API_KEY": "k"})
    assert step.code == 3 and "runrepo was called" in step.stderr and step.stdout == ""
