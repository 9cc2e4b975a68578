"""Real git histories, one decision: for every history below, `plan` shows the action `submit` takes,
the merge's submission creates exactly what the plan promised, and a backfill of everything at head
(`--base 0000...`, the widest range there is) creates nothing more.

Histories: the README's table (added, edited, comment only, pure rename, renamed and changed,
deleted, shared layer, resubmit trailer), merge commits with either parent older, a squash merge, a
rebase merge, an octopus merge, a revert to an earlier expanded run, and a non-ASCII file name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    ZERO,
    Repo,
    emu_fixture,
    identities,
    live_paths,
    repo_fixture,
    run_text,
    statuses,
    submit,
)

ONE, TWO = BUNDLED  # runs/experiments/gpt3-126m-1node.yaml, -2node.yaml
NEW = "runs/experiments/new-run.yaml"
OLD_DATE, NEWER_DATE = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


@dataclass
class History:
    base: str
    head: str
    expect: dict[str, str]  # path -> the plan's action (submit | skip | deleted)
    outcome: dict[str, str] | None = None  # path -> submit's status, when not the action's usual one


def _data(repo: Repo, path: str, n: int) -> None:
    repo.edit(path, "pile_00_text_document", f"pile_{n:02d}_text_document")


def added(repo: Repo) -> History:
    base = repo.head()
    repo.write(NEW, run_text("new-run"))
    return History(base, repo.commit("add"), {NEW: "submit"})


def edited(repo: Repo) -> History:
    base = repo.head()
    _data(repo, ONE, 1)
    return History(base, repo.commit("edit"), {ONE: "submit"})


def comment_only(repo: Repo) -> History:
    base = repo.head()
    (repo.path / ONE).write_text("# a comment\n" + (repo.path / ONE).read_text())
    return History(base, repo.commit("comment"), {ONE: "skip"})


def pure_rename(repo: Repo) -> History:
    base = repo.head()
    repo.git("mv", ONE, NEW)
    return History(base, repo.commit("rename"), {NEW: "skip"})


def renamed_and_changed(repo: Repo) -> History:
    base = repo.head()
    repo.git("mv", ONE, NEW)
    _data(repo, NEW, 2)
    return History(base, repo.commit("rename and edit"), {NEW: "submit"})


def deleted(repo: Repo) -> History:
    base = repo.head()
    repo.git("rm", "-q", ONE)
    return History(base, repo.commit("delete"), {ONE: "deleted"})


def shared_layer(repo: Repo) -> History:
    base = repo.head()
    repo.edit("runs/base.yaml", "max_duration: 24", "max_duration: 25")
    return History(base, repo.commit("shorter runs"), {ONE: "skip", TWO: "skip"})


def resubmit_trailer(repo: Repo) -> History:
    base = repo.head()
    repo.edit("runs/base.yaml", "max_duration: 24", "max_duration: 25")
    head = repo.commit(f"shorter runs\n\nRunrepo-Resubmit: {ONE}")
    return History(base, head, {ONE: "submit", TWO: "skip"})


def _branch_and_main(repo: Repo, branch_date: str, main_date: str) -> tuple[str, str]:
    """f2 edits ONE's data (at branch_date); main moves ONE to another cluster (at main_date)."""
    start = repo.head()
    repo.git("checkout", "-q", "-b", "f2")
    _data(repo, ONE, 3)
    repo.commit("f2: other data", date=branch_date)
    repo.git("checkout", "-q", "main")
    repo.edit(ONE, "/cluster: r7z2", "/cluster: r9z1")
    return start, repo.commit("main: other cluster", date=main_date)


def merge_branch_older(repo: Repo) -> History:
    _, main1 = _branch_and_main(repo, OLD_DATE, NEWER_DATE)
    repo.git("merge", "-q", "--no-ff", "f2", "-m", "Merge f2")
    return History(main1, repo.head(), {ONE: "submit"})


def merge_main_older(repo: Repo) -> History:
    _, main1 = _branch_and_main(repo, NEWER_DATE, OLD_DATE)
    repo.git("merge", "-q", "--no-ff", "f2", "-m", "Merge f2")
    return History(main1, repo.head(), {ONE: "submit"})


def squash_merge(repo: Repo) -> History:
    _, main1 = _branch_and_main(repo, OLD_DATE, NEWER_DATE)
    repo.git("merge", "-q", "--squash", "f2")
    return History(main1, repo.commit("f2 (#12)"), {ONE: "submit"})


def rebase_merge(repo: Repo) -> History:
    _, main1 = _branch_and_main(repo, OLD_DATE, NEWER_DATE)
    repo.git("checkout", "-q", "f2")
    repo.git("rebase", "-q", "main")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "f2")
    return History(main1, repo.head(), {ONE: "submit"})


def octopus_merge(repo: Repo) -> History:
    base = repo.head()
    paths = []
    for i in range(3):
        repo.git("checkout", "-q", "-b", f"b{i}", base)
        paths.append(repo.write(f"runs/experiments/octo-{i}.yaml", run_text(f"octo-{i}")))
        repo.commit(f"octo {i}", date=OLD_DATE if i % 2 else None)
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "b0", "b1", "b2", "-m", "octopus")
    return History(base, repo.head(), dict.fromkeys(paths, "submit"))


def revert_to_earlier(repo: Repo) -> History:
    _data(repo, ONE, 4)
    edit = repo.commit("edit")
    repo.git("revert", "--no-edit", edit)
    # the expanded run is the one submitted before the edit: that identity exists
    return History(edit, repo.head(), {ONE: "submit"}, {ONE: "existing"})


def non_ascii_name(repo: Repo) -> History:
    base = repo.head()
    path = repo.write("runs/experiments/gpt3-é-run.yaml", run_text("gpt3-e-run"))
    return History(base, repo.commit("ünïcode"), {path: "submit"})


HISTORIES = [added, edited, comment_only, pure_rename, renamed_and_changed, deleted, shared_layer, resubmit_trailer,
             merge_branch_older, merge_main_older, squash_merge, rebase_merge, octopus_merge, revert_to_earlier,
             non_ascii_name]
USUAL = {"submit": "created", "skip": "skipped", "deleted": "deleted"}


@pytest.mark.parametrize("make", HISTORIES, ids=lambda f: f.__name__)
def test_plan_promises_what_submit_does(repo, emu, make):
    from runrepo.plan.plan import plan
    from runrepo.submit.select import select

    submitted_before = submit(repo, "--base", ZERO)  # what main had was submitted when it was merged
    assert submitted_before[0] == 0, submitted_before
    h = make(repo)
    assert submit(repo, "--base", ZERO, "--head", h.base)[0] == 0  # the base's own merge, if any
    planned = {r.path: r.action for r in plan(repo.path, h.base, h.head).runs}
    decided = {c.path: c.decision for c in select(repo.path, h.base, h.head).candidates}
    assert planned == decided == h.expect

    code, data, err = submit(repo, "--base", h.base, "--head", h.head)
    want = {p: (h.outcome or {}).get(p, USUAL[a]) for p, a in h.expect.items()}
    assert code == 0 and statuses(data) == want, err
    live = live_paths(emu)
    assert all(len(copies) == 1 for copies in identities(emu).values()), live

    # The widest range there is creates nothing more: every run at head exists, or only its
    # shared layers changed since its own change was submitted.
    code, data, err = submit(repo, "--base", ZERO, "--head", h.head)
    assert code == 0 and "created" not in statuses(data).values(), (statuses(data), err)
    assert live_paths(emu) == live


def test_a_merge_of_an_older_commit_submits_the_edit(repo, emu):
    """The issue's reproduction: the merged edit is older than main's last edit of the file."""
    h = merge_branch_older(repo)
    assert submit(repo, "--base", ZERO, "--head", h.base)[0] == 0
    code, data, _ = submit(repo, "--base", h.base, "--head", h.head)
    assert code == 0 and statuses(data) == {ONE: "created"}
    runs = [r for r in emu.runs() if r["details"]["metadata"]["runrepo_path"] == ONE]
    assert [r["details"]["metadata"]["runrepo_commit"] for r in runs] == [h.base, h.head]
    assert "pile_03_text_document" in str(runs[-1]["details"]["originalRunInput"]["parameters"])


def test_a_non_ascii_file_is_blamed_on_its_own_commit(repo, emu):
    from runrepo.changes.detect import changes

    h = non_ascii_name(repo)
    (path,) = h.expect
    repo.edit("runs/base.yaml", "max_duration: 24", "max_duration: 25")
    later = repo.commit("shared change")
    (change,) = [r for r in changes(repo.path, ZERO, later).runs if r.path == path]
    assert change.cause == h.head
