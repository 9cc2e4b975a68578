"""A plan a reviewer can read: the same change in many runs is shown once (the runs folded), diffs carry
no digest lines, and the table shows before -> after where a number changed."""

from __future__ import annotations

import re
import shutil

import pytest
from plan_helpers import commit, edit, git, main_repo, table
from runrepo.changes.decide import SKIP
from runrepo.plan.group import change_key, groups
from runrepo.plan.plan import RunPlan, plan
from runrepo.plan.render import markdown, text
from runrepo_testing import run_file, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
N = 30  # runs of our own, plus the two bundled ones


@pytest.fixture(scope="module")
def shared_edit(tmp_path_factory):
    """N + 2 runs on main; the branch halves base.yaml's max_duration: every run changes the same way."""
    repo = main_repo(tmp_path_factory.mktemp("plan") / "repo")
    git(repo, "checkout", "-q", "main")
    for i in range(N):
        write(repo, f"runs/experiments/sweep-{i:02d}.yaml", run_file(f"sweep-{i:02d}"))
    commit(repo, "a sweep")
    git(repo, "checkout", "-qB", "pr")
    edit(repo, "runs/base.yaml", "max_duration: 24.0", "max_duration: 12.0")
    edit(repo, "runs/base.yaml", 'max_time: "00:23:30:00"', 'max_time: "00:11:30:00"')
    commit(repo, "half the time")
    return repo, plan(repo, "main")


def test_the_same_change_is_shown_once_with_the_runs_folded(shared_edit):
    _, p = shared_edit
    assert len(p.runs) == N + 2 and all(r.action == SKIP for r in p.runs)
    md = markdown(p)
    assert md.count("<summary>The same change in 32 runs") == 1
    assert md.count("```diff") == 1  # one diff, not 32
    folded = md[md.index("<summary>the 32 runs</summary>"):]
    assert all(f"`{r.path}`" in folded for r in p.runs)
    assert "-  max_duration: 24.0\n+  max_duration: 12.0\n" in md
    assert md.count("<details") == md.count("</details>")


def test_diffs_have_no_digest_lines(shared_edit):
    _, p = shared_edit
    assert all("runrepo_digest" not in r.diff for r in p.runs)
    assert "runrepo_digest" not in markdown(p) and "runrepo_digest" not in text(p)
    assert all(r.digest_base != r.digest_head for r in p.runs)  # the digests are still compared, just not shown


def test_table_shows_before_and_after(shared_edit):
    _, p = shared_edit
    rows = table(markdown(p))
    row = rows["`runs/experiments/gpt3-126m-2node.yaml`"]
    assert row["Max h"] == "24 &rarr; 12" and row["GPU-hours"] == "384 &rarr; 192"
    assert row["GPUs"] == "16" and row["Cluster"] == "r7z2"  # unchanged values stay single
    lines = text(p).splitlines()
    (two,) = [x for x in lines if x.startswith("runs/experiments/gpt3-126m-2node.yaml ")]
    assert re.search(r"\b24 -> 12\s+384 -> 192$", two)


def test_text_prints_a_shared_diff_once(shared_edit):
    _, p = shared_edit
    out = text(p)
    assert out.count("the same change in 32 runs: ") == 1
    assert out.count("(the same change as ") == N + 1
    assert out.count("+  max_duration: 12.0") == 1


def _rp(path: str, before: dict, after: dict) -> RunPlan:
    return RunPlan(path, "affected", SKIP, "affected", "", sides=(before, after))


def test_runs_group_by_what_changed_not_by_their_text():
    base = {"name": "a", "scheduling": {"max_duration": 24.0}, "parameters": {"model": {"lr": 1}}}
    a = _rp("a", base, {**base, "scheduling": {"max_duration": 12.0}})
    b = _rp("b", {**base, "name": "b"}, {**base, "name": "b", "scheduling": {"max_duration": 12.0}})
    c = _rp("c", base, {**base, "scheduling": {"max_duration": 6.0}})  # another change
    d = _rp("d", base, base)  # no change: never grouped
    e = RunPlan("e", "added", "submit", "submit (new)", "")  # one side only
    assert [[r.path for r in g] for g in groups([a, c, b, d, e])] == [["a", "b"], ["c"], ["d"], ["e"]]
    assert change_key(d) is None and change_key(e) is None
    one = _rp("x", {"k": 1}, {"k": True})  # 1 -> True is a change (repr keeps them apart)
    assert change_key(one) == ((("k",), "1", "True"),)
