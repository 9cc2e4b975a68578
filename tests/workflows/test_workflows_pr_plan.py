"""pr.yml's plan job, executed: its `run:` steps in bash with a simulated pull_request event.

The workspace is what actions/checkout (fetch-depth: 0) leaves for a pull request against a scratch
copy of this project (tests/workflows/scratch.py). The plan is made by the tool of the base commit:
a pull request that weakens the tool does not weaken its own plan. The comment job's script runs in
node against a fake GitHub client, to prove it updates one sticky comment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from runrepo.plan.render import MARKER
from runrepo_testing import run_file
from scratch import pull_request
from wf_helpers import WORKFLOWS, load

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

NEEDS_OWNER = "This pull request changes the rules themselves: needs a code owner."
BIG_RUN = "runs/experiments/gpt3-126m-64node.yaml"


def big_run() -> str:
    """512 GPUs (64 nodes of 8) x 24 h: valid in every respect but the policy's caps (128 GPUs, 3,072 GPU-hours)."""
    text = run_file("gpt3-126m-64node", node="multi_node", nodes=64)
    return text.replace("  model:\n", "  model:\n    global_batch_size: 2048\n")  # micro 4 x DP 512


def disable_policy(tree) -> None:
    """The attack of issue 11: `return {}` as the first statement of validate/policy.py:load."""
    path = tree / "tools" / "runrepo" / "validate" / "policy.py"
    text, n = re.subn(r"^(def load\(.*\).*:\n)", r"\1    return {}  # no limits\n", path.read_text(), flags=re.M)
    assert n == 1, "validate/policy.py has no one-line `def load(...):` to patch"
    path.write_text(text)


def ran(job) -> dict:
    return {s.name: s for s in job.steps if not s.skipped}


def test_plan_job_writes_the_plan_to_the_step_summary_and_the_job_output(tmp_path):
    pr = pull_request(tmp_path, {"runs/experiments/pr-run.yaml": run_file("pr-run")})
    _, job = pr.plan()
    skipped = {s.name: s.skipped for s in job.steps if s.skipped}
    assert set(skipped) == {
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
        "Install",
    }
    assert list(ran(job)) == [
        "Check out the base commit's tool",
        "Plan",
        "Mark a change to the rules",
        "Publish",
        "Fail when a run to submit has errors",
    ]
    assert not job.failed, [(s.name, s.code, s.stderr) for s in job.steps]
    assert job.summary.startswith(MARKER)
    (row,) = [x for x in job.summary.splitlines() if x.startswith("| `runs/experiments/pr-run.yaml` |")]
    assert "| **submit (new)** | r7z2 | a100_80gb | 1 | 8 | 24 | 192 |" in row and row.endswith("| ok |")
    assert "1 run to submit, 8 GPUs, 192 GPU-hours" in job.summary
    assert "the merge base with `origin/main`" in job.summary
    assert NEEDS_OWNER not in job.summary  # a run file alone changes no rule
    assert job.outputs["markdown"] == job.summary.rstrip("\n")
    assert "pwned" not in "".join(s.stdout + s.stderr for s in job.steps)


def test_plan_job_fails_on_an_error_but_still_publishes_the_plan(tmp_path):
    bad = run_file("pr-run").replace("  model:\n", "  model:\n    global_batch_size: 100\n")
    _, job = pull_request(tmp_path, {"runs/experiments/pr-run.yaml": bad}).plan()
    steps = ran(job)
    assert steps["Plan"].code == 0 and steps["Plan"].outputs == {"status": "1"}
    assert steps["Publish"].code == 0
    assert steps["Fail when a run to submit has errors"].code == 1 and job.failed
    assert "**Blocked:** 1 run(s)" in job.summary and "batch-divisible" in job.outputs["markdown"]


def test_a_pull_request_that_disables_the_policy_fails_its_plan(tmp_path):
    """Issue 11: `return {}` in policy.load plus a 512-GPU run. The base's tool judges it: red."""
    pr = pull_request(tmp_path, {BIG_RUN: big_run()}, edit=disable_policy)
    changes, job = pr.plan()
    plan = ran(job)["Plan"]
    assert plan.outputs == {"status": "1"} and job.failed
    assert f"plan by {pr.tmp}/runner-plan-0/base/tools/runrepo/__init__.py at {pr.base}" in plan.stdout
    assert "policy-gpus" in job.summary and "512 GPUs is over the limit of 128" in job.summary
    assert "**Blocked:** 1 run(s)" in job.summary
    # ... and the plan says that the pull request changes the code that judges runs.
    assert changes.outputs["rules"] == "tools/"
    assert job.summary.startswith(MARKER + "\n\n> [!WARNING]\n> **" + NEEDS_OWNER + "** It changes `tools/`.")


def test_the_same_pull_request_would_pass_a_plan_by_its_own_tool(tmp_path):
    """The control: with the pull request's tool (base sha = head), the same plan is green."""
    pr = pull_request(tmp_path, {BIG_RUN: big_run()}, edit=disable_policy)
    event = json.loads(json.dumps(pr.event))
    event["pull_request"]["base"]["sha"] = pr.head
    job = pr.run("plan", needs={"changes": {"code": "true", "rules": "tools/"}}, event=event)
    assert ran(job)["Plan"].outputs == {"status": "0"} and not job.failed
    (row,) = [x for x in job.summary.splitlines() if x.startswith(f"| `{BIG_RUN}` |")]
    assert "| **submit (new)** |" in row and "| 512 |" in row and "policy-gpus" not in job.summary


def test_a_runrepo_package_in_the_pull_request_never_runs(tmp_path):
    """`python -m` imports from its working directory: the plan never runs from the head's checkout."""
    trap = 'raise SystemExit("the pull request\'s runrepo package ran")\n'
    files = {"runrepo/__init__.py": trap, "runrepo/cli.py": trap, "sitecustomize.py": trap}
    files["runs/experiments/pr-run.yaml"] = run_file("pr-run")
    _, job = pull_request(tmp_path, files).plan()
    assert not job.failed, [(s.name, s.stdout, s.stderr) for s in job.steps]
    assert "package ran" not in "".join(s.stdout + s.stderr for s in job.steps)


@pytest.mark.parametrize(
    "rules, note",
    [
        ("tools/ .github/", "It changes `tools/`, `.github/`."),
        ("", "It changes paths the changes job could not classify."),  # the changes job failed: fail closed
    ],
)
def test_the_mark_names_what_changed_and_fails_closed(tmp_path, rules, note):
    pr = pull_request(tmp_path, {"runs/experiments/pr-run.yaml": run_file("pr-run")})
    job = pr.run("plan", needs={"changes": {"rules": rules}})
    lines = job.summary.splitlines()
    assert lines[:3] == [MARKER, "", "> [!WARNING]"]
    assert lines[3] == f"> **{NEEDS_OWNER}** {note}"
    assert job.outputs["markdown"].startswith(MARKER)  # the comment job still finds its comment
    assert not job.failed  # a code owner decides, not the plan


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
