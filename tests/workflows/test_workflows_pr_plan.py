"""pr.yml's plan job, executed: its `run:` steps in bash with a simulated pull_request event.

The workspace is what actions/checkout (fetch-depth: 0) leaves for a pull request: a clone with
origin/main, and HEAD at the merge of the pull request into main. The comment job's script runs
in node against a fake GitHub client, to prove it updates one sticky comment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from actions_runner import run_job
from runrepo.plan.render import MARKER
from runrepo_testing import GIT_ENV as _GIT_IDENTITY
from runrepo_testing import ROOT, run_file
from wf_helpers import WORKFLOWS, load

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_ENV = {**os.environ, **_GIT_IDENTITY}


def git(cwd, *args) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=GIT_ENV).stdout


def pull_request(tmp_path, files: dict[str, str]):
    """An upstream with runs/ on main and a `feature` branch adding `files`; the checked-out merge."""
    up = tmp_path / "upstream"
    shutil.copytree(ROOT / "runs", up / "runs")
    git(tmp_path, "init", "-q", "-b", "main", str(up))
    git(up, "add", "-A")
    git(up, "commit", "-qm", "runs on main")
    git(up, "checkout", "-qb", "feature")
    for rel, text in files.items():
        (up / rel).write_text(text)
    git(up, "add", "-A")
    git(up, "commit", "-qm", "add a run")
    head = git(up, "rev-parse", "HEAD").strip()
    base = git(up, "rev-parse", "main").strip()
    ws = tmp_path / "workspace"
    git(tmp_path, "clone", "-q", str(up), str(ws))
    git(ws, "checkout", "-q", "--detach", "origin/main")
    git(ws, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", "origin/feature")
    merge = git(ws, "rev-parse", "HEAD").strip()
    event = {
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "title": '"; echo pwned; "',  # never reaches a script: the workflow reads no title
            "base": {"ref": "main", "sha": base, "repo": {"full_name": "acme/runs"}},
            "head": {"ref": "feature", "sha": head, "repo": {"full_name": "acme/runs"}},
        },
        "repository": {"full_name": "acme/runs"},
    }
    github = {
        "event_name": "pull_request",
        "repository": "acme/runs",
        "base_ref": "main",
        "head_ref": "feature",
        "ref": "refs/pull/7/merge",
        "sha": merge,
    }
    return ws, event, github


def run_plan_job(tmp_path, files):
    ws, event, github = pull_request(tmp_path, files)
    runner_tmp = tmp_path / "runner"
    runner_tmp.mkdir()
    return run_job(load(WORKFLOWS / "pr.yml"), "plan", ws, event, github, runner_tmp)


def test_plan_job_writes_the_plan_to_the_step_summary_and_the_job_output(tmp_path):
    job = run_plan_job(tmp_path, {"runs/experiments/pr-run.yaml": run_file("pr-run")})
    skipped = {s.name: s.skipped for s in job.steps if s.skipped}
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    assert set(skipped) == {
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
        "Install",
    }
    ran = [s for s in job.steps if not s.skipped]
    assert [s.name for s in ran] == ["Plan", "Publish", "Fail when a run to submit has errors"]
    assert not job.failed, [(s.name, s.code, s.stderr) for s in ran]
    assert job.summary.startswith(MARKER)
    (row,) = [x for x in job.summary.splitlines() if x.startswith("| `runs/experiments/pr-run.yaml` |")]
    assert "| **submit (new)** | r7z2 | a100_80gb | 1 | 8 | 24 | 192 |" in row and row.endswith("| ok |")
    assert "1 run to submit, 8 GPUs, 192 GPU-hours" in job.summary
    assert "(runs on main), the merge base with `origin/main`" in job.summary
    assert job.outputs["markdown"] == job.summary.rstrip("\n")
    assert "pwned" not in "".join(s.stdout + s.stderr for s in ran)


def test_plan_job_fails_on_an_error_but_still_publishes_the_plan(tmp_path):
    bad = run_file("pr-run").replace("  model:\n", "  model:\n    global_batch_size: 100\n")
    job = run_plan_job(tmp_path, {"runs/experiments/pr-run.yaml": bad})
    by_name = {s.name: s for s in job.steps}
    assert by_name["Plan"].code == 0 and by_name["Plan"].outputs == {"status": "1"}
    assert by_name["Publish"].code == 0
    assert by_name["Fail when a run to submit has errors"].code == 1 and job.failed
    assert "**Blocked:** 1 run(s)" in job.summary and "batch-divisible" in job.outputs["markdown"]


FAKE_GITHUB = """
const calls = [];
const existing = JSON.parse(process.env.EXISTING);
const github = {
  rest: { issues: {
    listComments: "listComments",
    createComment: async (a) => calls.push(["create", a]),
    updateComment: async (a) => calls.push(["update", a]),
  } },
  paginate: async (fn, args) => { calls.push(["list", args]); return existing; },
};
const context = { repo: { owner: "acme", repo: "runs" }, payload: { pull_request: { number: 7 } } };
const fn = new (Object.getPrototypeOf(async function () {}).constructor)("github", "context", "process", SCRIPT);
fn(github, context, process).then(() => console.log(JSON.stringify(calls)));
"""


def comment_script() -> str:
    (step,) = load(WORKFLOWS / "pr.yml")["jobs"]["comment"]["steps"]
    return step["with"]["script"]


@pytest.mark.parametrize(
    "existing, expected",
    [
        ([], ("create", None)),
        ([{"id": 5, "user": {"type": "User"}, "body": MARKER + " fake"}], ("create", None)),
        (
            [
                {"id": 9, "user": {"type": "Bot"}, "body": "other bot"},
                {"id": 11, "user": {"type": "Bot"}, "body": MARKER},
            ],
            ("update", 11),
        ),
    ],
)
def test_comment_script_upserts_one_sticky_comment(tmp_path, existing, expected):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    js = tmp_path / "fake.js"
    js.write_text(FAKE_GITHUB.replace("SCRIPT", json.dumps(comment_script())))
    body = MARKER + "\n### runrepo plan"
    env = {**os.environ, "PLAN": body, "EXISTING": json.dumps(existing)}
    proc = subprocess.run([node, str(js)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    calls = json.loads(proc.stdout)
    assert calls[0] == ["list", {"owner": "acme", "repo": "runs", "issue_number": 7, "per_page": 100}]
    kind, args = calls[1]
    assert len(calls) == 2 and kind == expected[0] and args["body"] == body
    if kind == "update":
        assert args["comment_id"] == expected[1]
    else:
        assert args["issue_number"] == 7
