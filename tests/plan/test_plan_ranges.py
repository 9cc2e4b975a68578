"""`runrepo plan` over real commits: each kind of change gives the right action, diff and totals."""

from __future__ import annotations

import json
import shutil

import pytest
from plan_helpers import commit, edit, git, main_repo, table
from runrepo.changes.decide import DELETED, SKIP, SUBMIT
from runrepo.plan.plan import plan
from runrepo.plan.render import MARKER, markdown
from runrepo_testing import line_of, run_file, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ONE = "runs/experiments/gpt3-126m-1node.yaml"
TWO = "runs/experiments/gpt3-126m-2node.yaml"


@pytest.fixture
def repo(tmp_path):
    return main_repo(tmp_path / "repo")


def by_path(p):
    return {r.path: r for r in p.runs}


def both(repo, cli, base="main"):
    """The plan as markdown and as json, through the CLI (exit code included)."""
    code_md, md, _ = cli("plan", "--repo", str(repo), "--base", base, "--format", "markdown")
    code_js, js, _ = cli("plan", "--repo", str(repo), "--base", base, "--format", "json")
    assert code_md == code_js
    return code_md, md, json.loads(js)


def test_new_run_is_submitted_with_its_whole_expansion(repo, cli):
    write(repo, "runs/experiments/new-run.yaml", run_file("new-run"))
    head = commit(repo, "add new-run")
    code, md, js = both(repo, cli)
    assert code == 0
    (run,) = js["runs"]
    assert run["path"] == "runs/experiments/new-run.yaml"
    assert (run["change"], run["action"]) == ("added", SUBMIT)
    assert (run["cluster"], run["gpu_type"], run["nodes"], run["gpus"]) == ("r7z2", "a100_80gb", 1, 8)
    assert run["max_duration"] == 24.0 and run["gpu_hours"] == 192.0
    assert run["diff"].startswith("--- /dev/null\n+++ b/runs/experiments/new-run.yaml\n")
    assert "+name: new-run\n" in run["diff"] and "+    devices: 8\n" in run["diff"]
    assert js["totals"] == {"runs": 1, "gpus": 8, "gpu_hours": 192.0, "unbounded": 0}
    assert js["head"]["sha"] == head
    assert js["base"]["sha"] == git(repo, "rev-parse", "main").strip() and js["base"]["subject"] == "runs on main"
    assert md.startswith(MARKER + "\n")
    assert "1 run to submit, 8 GPUs, 192 GPU-hours" in md
    base7 = js["base"]["sha"][:7]
    assert f"base `{base7}` (runs on main)" in md
    row = table(md)["`runs/experiments/new-run.yaml`"]
    assert row["Action"] == "**submit (new)**" and row["Findings"] == "ok"
    assert [row[k] for k in ("Cluster", "GPU type", "Nodes", "GPUs", "Max h", "GPU-hours")] == [
        "r7z2",
        "a100_80gb",
        "1",
        "8",
        "24",
        "192",
    ]
    assert "+name: new-run" in md and "<details open>" in md


def test_edited_run_shows_only_what_changed_in_the_expansion(repo, cli):
    edit(
        repo,
        ONE,
        "parameters:",
        "scheduling:\n  max_duration: 6.5\nparameters:\n  trainer:\n    max_time: '00:06:00:00'",
    )
    commit(repo, "shorter")
    code, md, js = both(repo, cli)
    assert code == 0
    (run,) = js["runs"]
    assert (run["change"], run["action"], run["label"]) == ("modified", SUBMIT, "submit (edited)")
    assert run["gpu_hours"] == 8 * 6.5
    assert "-  max_duration: 24.0\n+  max_duration: 6.5\n" in run["diff"]
    assert "runrepo_digest" not in run["diff"]  # it moves with any change: noise in a review
    assert "+name:" not in run["diff"]  # only the hunks that changed
    assert "| **52** |" in md


def test_comment_only_edit_is_not_resubmitted(repo, cli):
    edit(repo, ONE, "name: gpt3-126m-1node", "name: gpt3-126m-1node  # reworded comment")
    commit(repo, "comment")
    code, md, js = both(repo, cli)
    (run,) = js["runs"]
    assert (run["action"], run["label"]) == (SKIP, "unchanged")
    assert run["digest_base"] == run["digest_head"] and run["diff"] == ""
    assert js["totals"]["runs"] == 0 and code == 0
    assert "identical at base and head" in md


def test_pure_rename_is_not_resubmitted(repo, cli):
    git(repo, "mv", ONE, "runs/experiments/gpt3-126m-one-node.yaml")
    commit(repo, "rename")
    code, md, js = both(repo, cli)
    (run,) = js["runs"]
    assert (run["change"], run["action"], run["label"]) == ("renamed", SKIP, "renamed, unchanged")
    assert run["old_path"] == ONE and run["digest_base"] == run["digest_head"]
    # only the metadata naming the file moves
    changed = [x for x in run["diff"].splitlines() if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    assert changed == [f"-  runrepo_path: {ONE}", "+  runrepo_path: runs/experiments/gpt3-126m-one-node.yaml"]
    assert js["totals"]["runs"] == 0
    assert f"`{ONE}` &rarr; `runs/experiments/gpt3-126m-one-node.yaml` | renamed, unchanged |" in md


def test_rename_with_a_change_is_submitted(repo):
    git(repo, "mv", ONE, "runs/experiments/gpt3-126m-one-node.yaml")
    edit(repo, "runs/experiments/gpt3-126m-one-node.yaml", "name: gpt3-126m-1node", "name: gpt3-126m-one-node")
    commit(repo, "rename and retitle")
    (run,) = plan(repo, "main").runs
    assert (run.change, run.action) == ("renamed", SUBMIT)
    assert "-name: gpt3-126m-1node\n+name: gpt3-126m-one-node\n" in run.diff


def test_deleted_run_is_reported_and_not_stopped(repo, cli):
    git(repo, "rm", "-q", TWO)
    commit(repo, "drop")
    code, md, js = both(repo, cli)
    (run,) = js["runs"]
    assert (run["change"], run["action"]) == ("deleted", DELETED)
    assert run["gpus"] == 16  # numbers from the base side
    assert run["diff"].startswith(f"--- a/{TWO}\n+++ /dev/null\n")
    assert js["totals"]["runs"] == 0 and js["totals"]["gpu_hours"] == 0
    assert "does not stop its platform run" in md and code == 0


def test_cluster_overlay_edit_replans_every_dependent_and_submits_none(repo, cli):
    write(repo, "runs/experiments/on-r1z1.yaml", run_file("on-r1z1").replace("r7z2", "r1z1"))
    write(repo, "runs/experiments/third-on-r7z2.yaml", run_file("third-on-r7z2"))
    commit(repo, "more runs")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", "pr")
    git(repo, "checkout", "-q", "pr")
    edit(repo, "runs/cluster/r7z2.yaml", "gpu_type: a100_80gb", "gpu_type: h100_80gb")
    commit(repo, "r7z2 is H100 now")
    code, md, js = both(repo, cli)
    runs = {r["path"]: r for r in js["runs"]}
    assert set(runs) == {ONE, TWO, "runs/experiments/third-on-r7z2.yaml"}  # not the r1z1 run
    for r in runs.values():
        assert (r["change"], r["action"], r["label"]) == ("affected", SKIP, "affected (not resubmitted)")
        assert r["layers"] == ["runs/cluster/r7z2.yaml"] and r["gpu_type"] == "h100_80gb"
        assert "-  gpu_type: a100_80gb\n+  gpu_type: h100_80gb\n" in r["diff"]
    assert js["totals"]["runs"] == 0 and code == 0
    assert js["shared"] == [{"status": "M", "path": "runs/cluster/r7z2.yaml", "old_path": ""}]
    assert "Shared files changed: `runs/cluster/r7z2.yaml`. 3 dependent run(s)" in md
    assert "0 runs to submit, 0 GPUs, 0 GPU-hours" in md


def test_resubmit_trailer_submits_the_dependents_it_names(repo, cli):
    edit(repo, "runs/cluster/r7z2.yaml", "gpu_type: a100_80gb", "gpu_type: h100_80gb")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"r7z2 is H100 now\n\nRunrepo-Resubmit: {TWO}")
    code, md, js = both(repo, cli)
    runs = {r["path"]: r for r in js["runs"]}
    assert (runs[TWO]["action"], runs[TWO]["label"]) == (SUBMIT, "submit (resubmit requested)")
    assert runs[ONE]["action"] == SKIP
    assert js["totals"] == {"runs": 1, "gpus": 16, "gpu_hours": 384.0, "unbounded": 0}
    assert md.index(TWO) < md.index(ONE)  # what will be submitted comes first


def test_error_in_a_submitted_run_fails_the_plan_and_points_at_the_line(repo, cli):
    text = run_file("bad-batch").replace("  model:\n", "  model:\n    global_batch_size: 100\n")
    rel = write(repo, "runs/experiments/bad-batch.yaml", text)
    commit(repo, "bad")
    code, md, js = both(repo, cli)
    assert code == 1
    (run,) = js["runs"]
    assert run["action"] == SUBMIT and run["errors"] >= 1
    line = line_of(repo, rel, "global_batch_size: 100")
    assert any(f["rule"] == "batch-divisible" and f["line"] == line and f["file"] == rel for f in run["findings"])
    assert f"`{rel}:{line}:" in md and "**Blocked:** 1 run(s)" in md and "**1 error" in md


def test_error_in_an_affected_run_that_is_not_submitted_does_not_fail(repo, cli):
    edit(repo, "runs/model/gpt3_126m.yaml", "global_batch_size: 256", "global_batch_size: 100")
    commit(repo, "break the preset")
    code, md, js = both(repo, cli)
    assert code == 0
    assert len(js["runs"]) == 2 and all(r["action"] == SKIP and r["errors"] for r in js["runs"])
    line = line_of(repo, "runs/model/gpt3_126m.yaml", "global_batch_size: 100")
    assert f"`runs/model/gpt3_126m.yaml:{line}:" in md and "**error**[batch-divisible]" in md
    assert "Blocked" not in md


def test_plan_reads_git_not_the_working_tree(repo, cli):
    write(repo, "runs/experiments/new-run.yaml", run_file("new-run"))
    commit(repo, "add")
    edit(repo, "runs/experiments/new-run.yaml", "name: new-run", "name: Not_Committed")  # uncommitted
    (repo / "runs" / "cluster" / "r7z2.yaml").unlink()
    _, _, js = both(repo, cli)
    (run,) = js["runs"]
    assert "+name: new-run\n" in run["diff"] and run["cluster"] == "r7z2" and not run["errors"]


def test_bad_revisions_are_one_line_usage_errors(repo, cli):
    code, out, err = cli("plan", "--repo", str(repo), "--base", "no-such-branch")
    assert code == 2 and out == "" and err.count("\n") == 1 and "error[usage] base no-such-branch: not a commit" in err
    code, out, err = cli("plan", "--repo", str(repo), "--base", "main", "--head", "nope")
    assert code == 2 and "error[usage] head nope: not a commit" in err and "Traceback" not in err


def test_all_zero_base_plans_every_run_as_new(repo, cli):
    code, md, js = both(repo, cli, base="0" * 40)
    assert {r["path"] for r in js["runs"]} == {ONE, TWO}
    assert js["totals"]["gpus"] == 24 and "(empty tree)" in md


def test_output_file(repo, cli, tmp_path):
    write(repo, "runs/experiments/new-run.yaml", run_file("new-run"))
    commit(repo, "add")
    out = tmp_path / "plan.md"
    code, stdout, _ = cli("plan", "--repo", str(repo), "--base", "main", "--format", "markdown", "--output", str(out))
    assert code == 0 and stdout == ""
    assert out.read_text() == markdown(plan(repo, "main"))
