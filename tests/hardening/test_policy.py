"""runs/policy.yaml: loading from the tree and from a commit, broken files, approvals, per-PR totals."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from corpus_util import ROOT, parse
from corpus_util import cli as run_cli
from runrepo.compose.layers import GitSource, TreeSource
from runrepo.errors import RunrepoError
from runrepo.rules import limits
from runrepo.validate import policy as pol
from runrepo_testing import GIT_ENV  # noqa: E402


def git(repo, *args):
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(ROOT / "runs", tmp_path / "runs")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def test_bundled_policy_loads_and_bundled_runs_pass():
    p = pol.load(TreeSource(ROOT))
    assert p["clusters"] and p["max_gpu_hours_per_pr"] and p["require_max_duration"] is True
    assert p["_pos"][("max_gpus_per_run",)][0] > 1  # positions, for messages
    code, out, err = run_cli("check", "--repo", str(ROOT), "--all")
    assert not [f for f in parse(out + err)[0] if f["rule"].startswith(("policy-", "secret-"))], out


def test_base_commit_policy_is_what_a_pr_cannot_loosen(repo):
    """A branch that raises its own limit: the working tree says 9999, the base commit still 128."""
    base = git(repo, "rev-parse", "HEAD")
    text = (repo / "runs/policy.yaml").read_text().replace("max_gpus_per_run: 128", "max_gpus_per_run: 9999")
    (repo / "runs/policy.yaml").write_text(text)
    git(repo, "commit", "-qam", "loosen")
    assert pol.load(TreeSource(repo))["max_gpus_per_run"] == 9999
    assert pol.load(GitSource(repo, "HEAD"))["max_gpus_per_run"] == 9999
    assert pol.load(GitSource(repo, base))["max_gpus_per_run"] == 128


def test_no_policy_file_means_no_policy(repo):
    (repo / "runs/policy.yaml").unlink()
    assert pol.load(TreeSource(repo)) == {}
    git(repo, "commit", "-qam", "drop policy")
    assert pol.load(GitSource(repo, "HEAD")) == {}


def test_broken_policy_at_a_commit_is_an_error_with_a_line(repo):
    (repo / "runs/policy.yaml").write_text("version: 1\nclusters: [a, b\nmax_gpus_per_run: 8\n")
    git(repo, "commit", "-qam", "broken")
    with pytest.raises(RunrepoError) as e:
        pol.load(GitSource(repo, "HEAD"))
    assert (e.value.rule, e.value.file, e.value.line) == ("policy-file", "runs/policy.yaml", 2)


def test_symlinked_policy_in_a_commit_is_refused(repo):
    (repo / "runs/policy.yaml").unlink()
    (repo / "runs/policy.yaml").symlink_to("/etc/hostname")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "link")
    with pytest.raises(RunrepoError) as e:
        pol.load(GitSource(repo, "HEAD"))
    assert e.value.rule == "policy-file"


@pytest.mark.parametrize(
    "text, needle",
    [
        (
            "approvals:\n  - run: runs/experiments/a.yaml\n    reason: budget ok for Q3\n    max_gpus: 8\n"
            "  - run: runs/experiments/a.yaml\n    reason: budget ok for Q4\n    max_gpus: 16\n",
            "approved twice",
        ),
        ("approvals:\n  - run: ../../etc/passwd\n    reason: budget ok for Q3\n    max_gpus: 8\n", "run file path"),
        ("approvals:\n  - run: runs/experiments/a.yaml\n    reason: ok\n    max_gpus: 8\n", "10+ characters"),
        ("approvals:\n  - just a string\n", "each approval is a mapping"),
        ("images:\n  pinn: tag\n", "did you mean `pin`"),
        ("version: 2\n", "must be 1"),
        ("max_duration_hours: true\n", "greater than 0"),
        ("clusters: r7z2\n", "list of strings"),
    ],
)
def test_policy_file_mistakes(text, needle):
    with pytest.raises(RunrepoError) as e:
        pol.parse(text)
    assert e.value.rule == "policy-file" and needle in e.value.message and e.value.line >= 1


def test_approval_raises_the_run_limit_only_for_its_run():
    p = pol.parse(
        "max_gpu_hours_per_run: 100\napprovals:\n  - run: runs/experiments/big.yaml\n"
        "    reason: budgeted in the Q3 plan\n    max_gpu_hours: 1000\n"
    )
    assert limits.limit(p, "max_gpu_hours_per_run", "runs/experiments/big.yaml", "max_gpu_hours") == (
        1000.0,
        "runs/policy.yaml:5",
    )
    assert limits.limit(p, "max_gpu_hours_per_run", "runs/experiments/other.yaml", "max_gpu_hours") == (
        100.0,
        "runs/policy.yaml:1",
    )


def test_pr_totals_and_findings():
    p = pol.parse(
        "max_gpu_hours_per_pr: 500\napprovals:\n  - run: runs/experiments/big.yaml\n"
        "    reason: budgeted in the Q3 plan\n    max_gpu_hours: 5000\n"
    )
    ok = limits.pr_totals([("runs/experiments/a.yaml", 192.0), ("runs/experiments/big.yaml", 4000.0)], p)
    assert (ok.gpu_hours, ok.counted, ok.approved, ok.over) == (4192.0, 192.0, ["runs/experiments/big.yaml"], False)
    assert limits.pr_findings(ok, p) == []
    over = limits.pr_totals([("runs/experiments/a.yaml", 384.0), ("runs/experiments/b.yaml", 192.0)], p)
    (f,) = limits.pr_findings(over, p)
    assert (f.rule, f.file, f.line, over.counted) == ("policy-pr-gpu-hours", "runs/policy.yaml", 1, 576.0)
    unbounded = limits.pr_totals([("runs/experiments/a.yaml", None)], p)
    assert unbounded.over and "unbounded" in limits.pr_findings(unbounded, p)[0].message
    assert not limits.pr_totals([("x", 1e9)], {}).over  # no policy, no limit


def test_gpu_hours_of_an_expanded_run():
    assert limits.gpu_hours({"compute": {"gpus": 16}, "scheduling": {"max_duration": 24.0}}) == 384.0
    assert limits.gpu_hours({"compute": {"gpus": 16}, "scheduling": {}}) is None
    assert limits.gpu_hours({"compute": {"gpus": True}, "scheduling": {"max_duration": 1}}) is None
    assert limits.gpu_hours({"compute": "x", "scheduling": None}) is None



def test_gpu_hours_reads_numbers_whatever_their_spelling():
    """512.0 GPUs are 512 GPUs to policy (the schema rules refuse the spelling); the unreadable is None."""
    assert limits.gpu_hours({"compute": {"gpus": 512.0}, "scheduling": {"max_duration": 24.0}}) == 12288.0
    for gpus in ("lots", None, float("nan"), float("inf"), -8):
        assert limits.gpu_hours({"compute": {"gpus": gpus}, "scheduling": {"max_duration": 24.0}}) is None, gpus
    assert limits.gpu_hours({"compute": {"gpus": 8}, "scheduling": {"max_duration": float("nan")}}) is None
    assert [limits.number(x) for x in (3, 2.5, float("nan"), float("-inf"), True, "8")] == [
        3.0,
        2.5,
        None,
        None,
        None,
        None,
    ]


class Ctx:
    """What the policy rules read of a run."""

    def __init__(self, run: dict, policy: str):
        self.run, self.policy, self.run_file = run, pol.parse(policy), "runs/experiments/x.yaml"

    def get(self, dotted):
        node = self.run
        for k in dotted.split("."):
            node = node.get(k) if isinstance(node, dict) else None
        return node

    def origin(self, path):
        return type("O", (), {"file": self.run_file})()


LIMITS = "max_gpus_per_run: 128\nmax_gpu_hours_per_run: 3072\nmax_duration_hours: 72\nrequire_max_duration: true\n"


def hits(ctx) -> dict:
    from runrepo.rules import policy as rules

    found = {}
    for name in ("policy_gpus", "policy_gpu_hours", "policy_max_duration"):
        for h in getattr(rules, name)(ctx):
            found[name] = h.message
    return found


def test_policy_rules_fail_closed():
    """A value policy cannot read is refused, never skipped as unknown; 512.0 GPUs are over 128."""
    run = {"compute": {"gpus": 512.0}, "scheduling": {"max_duration": 24.0}}
    got = hits(Ctx(run, LIMITS))
    assert set(got) == {"policy_gpus", "policy_gpu_hours"}
    assert got["policy_gpus"].startswith("512 GPUs is over the limit of 128")
    assert got["policy_gpu_hours"].startswith("512 GPUs x 24 h = 12288 GPU-hours")
    got = hits(Ctx({"compute": {"gpus": "lots"}, "scheduling": {"max_duration": 24.0}}, LIMITS))
    assert set(got) == {"policy_gpus"} and "cannot be checked" in got["policy_gpus"]
    # without a GPU limit, the GPU-hour limit is the one that cannot be checked
    got = hits(Ctx({"compute": {}, "scheduling": {"max_duration": 24.0}}, "max_gpu_hours_per_run: 3072\n"))
    assert set(got) == {"policy_gpu_hours"} and "compute.gpus is not set" in got["policy_gpu_hours"]
    got = hits(Ctx({"compute": {"gpus": 8}, "scheduling": {"max_duration": "long"}}, LIMITS))
    assert set(got) == {"policy_max_duration"} and "'long', not a positive number" in got["policy_max_duration"]
    assert hits(Ctx({"compute": {"gpus": 8}, "scheduling": {"max_duration": 24.0}}, LIMITS)) == {}
    assert hits(Ctx({"compute": {"gpus": "lots"}, "scheduling": {"max_duration": "long"}}, "version: 1\n")) == {}
