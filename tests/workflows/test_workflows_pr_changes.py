"""pr.yml's changes job: which pull requests run the test suite, and which change the rules.

Run files and layers (runs/) get the fast path, pre-commit and the plan; anything else also runs
the tool's tests. The job runs in bash through the stand-in runner; the tests job's `if:` is
evaluated with its outputs, as GitHub would.
"""

from __future__ import annotations

import shutil

import pytest
from actions_runner import job_runs
from runrepo_testing import run_file
from scratch import pull_request
from wf_helpers import WORKFLOWS, load

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

RUN = run_file("pr-run")


def append(rel: str, line: str):
    def edit(tree):
        path = tree / rel
        path.write_text(path.read_text() + line)

    return edit


CASES = {
    # name: (files, edit, tests run?, rules areas)
    "run file": ({"runs/experiments/pr-run.yaml": RUN}, None, False, "none"),
    "run file, odd name": ({"runs/experiments/a b\tc.yaml": RUN}, None, False, "none"),
    "run deleted": ({"runs/experiments/gpt3-126m-2node.yaml": None}, None, False, "none"),
    "shared layer": ({}, append("runs/cluster/r7z2.yaml", "# note\n"), False, "none"),
    "policy": ({}, append("runs/policy.yaml", "# note\n"), False, "runs/policy.yaml"),
    "tool": ({"tools/runrepo/new.py": "X = 1\n"}, None, True, "tools/"),
    "schema": ({"schemas/new.json": "{}\n"}, None, True, "schemas/"),
    "test": ({"tests/test_new.py": "def test_x():\n    pass\n"}, None, True, "none"),
    "pyproject": ({}, append("pyproject.toml", "# note\n"), True, "pyproject.toml"),
    "lock": ({}, append("requirements/runtime.lock", "# note\n"), True, "requirements/"),
    "workflow": ({}, append(".github/workflows/pr.yml", "# note\n"), True, ".github/"),
    "readme": ({}, append("README.md", "note\n"), True, "none"),
    "run and pyproject": (
        {"runs/experiments/pr-run.yaml": RUN},
        append("pyproject.toml", "#\n"),
        True,
        "pyproject.toml",
    ),
    "several areas": (
        {"scripts/new.sh": "true\n", "tools/runrepo/new.py": "X = 1\n"},
        lambda t: [append(r, "#\n")(t) for r in ("pyproject.toml", ".github/workflows/submit.yml")],
        True,
        ".github/ pyproject.toml scripts/ tools/",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_changed_paths_choose_the_tests_and_mark_the_rules(tmp_path, case):
    files, edit, tests, rules = CASES[case]
    pr = pull_request(tmp_path, files, edit)
    job = pr.run("changes")
    assert [s.name for s in job.steps if not s.skipped] == ["Classify the changed paths"]
    assert not job.failed, job.steps[-1].stderr
    assert job.outputs["code"] == str(tests).lower()
    assert sorted(job.outputs["rules"].split()) == sorted(rules.split())
    wf = load(WORKFLOWS / "pr.yml")
    ctx = {"github": pr.github, "needs": {"changes": {"outputs": job.outputs, "result": "success"}}}
    assert job_runs(wf, "tests", ctx) is tests
    assert job_runs(wf, "plan", ctx) and job_runs(wf, "pre-commit", ctx)  # always: the fast path keeps both


def test_when_the_changes_job_fails_the_tests_still_run_and_the_plan_is_marked():
    wf = load(WORKFLOWS / "pr.yml")
    ctx = {"needs": {"changes": {"outputs": {}, "result": "failure"}}}
    assert job_runs(wf, "tests", ctx, {"success": False, "failure": True})
    assert job_runs(wf, "plan", ctx, {"success": False, "failure": True})
    assert not job_runs(wf, "tests", ctx, {"cancelled": True, "success": False})
