"""`runrepo submit` against the emulator with the real mcli: which runs a merge creates, and exactly once."""

from __future__ import annotations

from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    ZERO,
    emu_fixture,
    identities,
    live_paths,
    repo_fixture,
    run_text,
    statuses,
    submit,
)

A, B, C = (f"runs/experiments/{n}.yaml" for n in ("exp-a", "exp-b", "exp-c"))


def test_first_submission_then_rerun_creates_nothing(repo, emu):
    code, data, err = submit(repo, "--base", ZERO)
    assert code == 0, err
    assert statuses(data) == {p: "created" for p in BUNDLED}
    assert all(r["run"].startswith(r["file"].split("/")[-1][:-5]) and r["gpus"] for r in data["runs"])
    assert "created" in err  # progress lines on stderr
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0 and statuses(data) == {p: "existing" for p in BUNDLED}
    assert live_paths(emu) == BUNDLED
    meta = emu.runs()[0]["details"]["metadata"]
    assert meta["runrepo_commit"] == repo.head() and meta["runrepo_base"] == ZERO
    assert meta["runrepo_digest"].startswith("sha256:")


def test_two_merges_in_a_row_and_a_rerun_of_the_first(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    repo.write(A, run_text("exp-a"))
    c1 = repo.commit("add a")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and statuses(data) == {A: "created"}

    repo.edit(A, "data_prefix: [1.0,", "data_prefix: [0.5,")
    repo.write(B, run_text("exp-b"))
    c2 = repo.commit("edit a, add b")
    code, data, _ = submit(repo, "--base", c1, "--head", c2)
    assert code == 0 and statuses(data) == {A: "created", B: "created"}

    code, data, _ = submit(repo, "--base", c0, "--head", c1)  # the first merge's workflow, re-run
    assert code == 0 and statuses(data) == {A: "existing"}
    # An edited run is a new run; the earlier one is left running.
    assert live_paths(emu) == sorted([*BUNDLED, A, A, B])


def test_a_dropped_workflow_run_is_caught_up_by_the_next(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", "auto", "--fallback-base", ZERO)[0] == 0  # nothing on the platform yet
    repo.write(A, run_text("exp-a"))
    p1 = repo.commit("push 1")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", c0, "--head", p1)
    assert code == 0 and statuses(data) == {A: "created"}, err
    repo.write(B, run_text("exp-b"))
    p2 = repo.commit("push 2: its workflow run is cancelled while pending")
    repo.write(C, run_text("exp-c"))
    p3 = repo.commit("push 3")
    # `github.event.before` of push 3 is p2: that range alone would lose exp-b.
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", p2, "--head", p3)
    assert code == 0 and statuses(data) == {B: "created", C: "created"}, err
    assert f"last submitted commit {p1[:12]}" in err
    code, data, _ = submit(repo, "--base", "auto", "--fallback-base", p2, "--head", p3)
    assert code == 0 and statuses(data) == {}  # already up to date: an empty range
    assert live_paths(emu) == sorted([*BUNDLED, A, B, C])


def test_a_cluster_overlay_edit_resubmits_only_with_the_trailer(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    overlay = repo.path / "runs/cluster/r7z2.yaml"
    overlay.write_text(overlay.read_text() + "env_variables:\n  NCCL_DEBUG: WARN\n")
    c1 = repo.commit("r7z2: tune")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and set(statuses(data).values()) == {"skipped"}
    assert all("Runrepo-Resubmit" in r["detail"] for r in data["runs"])
    assert live_paths(emu) == BUNDLED

    repo.edit("runs/cluster/r7z2.yaml", "WARN", "INFO")
    c2 = repo.commit("r7z2: tune again\n\nRunrepo-Resubmit: runs/experiments/gpt3-126m-1node.yaml")
    code, data, _ = submit(repo, "--base", c1, "--head", c2)
    assert code == 0, data
    assert statuses(data) == {
        "runs/experiments/gpt3-126m-1node.yaml": "created",
        "runs/experiments/gpt3-126m-2node.yaml": "skipped",
    }
    repo.edit("runs/cluster/r7z2.yaml", "INFO", "VERSION")
    c3 = repo.commit("r7z2: and again\n\nRunrepo-Resubmit: runs/experiments/*")
    code, data, _ = submit(repo, "--base", c2, "--head", c3)
    assert code == 0 and statuses(data) == {p: "created" for p in BUNDLED}


def test_an_over_wide_range_does_not_resubmit_what_a_shared_change_touched(repo, emu):
    """The cover rule: a run whose own edit was submitted is not resubmitted for a later overlay edit."""
    assert submit(repo, "--base", ZERO)[0] == 0
    c0 = repo.head()
    repo.write(A, run_text("exp-a"))
    c1 = repo.commit("add a")
    assert submit(repo, "--base", c0, "--head", c1)[0] == 0
    overlay = repo.path / "runs/cluster/r7z2.yaml"
    overlay.write_text(overlay.read_text() + "env_variables:\n  NCCL_DEBUG: WARN\n")
    c2 = repo.commit("overlay edit, no trailer")
    code, data, _ = submit(repo, "--base", c0, "--head", c2)  # wider than needed: includes "add a"
    assert code == 0 and statuses(data)[A] == "skipped", data
    assert "already submitted" in next(r["detail"] for r in data["runs"] if r["file"] == A)
    assert live_paths(emu) == sorted([*BUNDLED, A])


def test_pure_rename_is_not_resubmitted_a_rename_with_changes_is(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    repo.git("mv", BUNDLED[0], A)
    c1 = repo.commit("rename")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and statuses(data) == {A: "skipped"}
    assert "pure rename" in data["runs"][0]["detail"]
    repo.git("mv", A, B)
    repo.edit(B, "data_prefix: [1.0,", "data_prefix: [0.9,")
    c2 = repo.commit("rename with a change")
    code, data, _ = submit(repo, "--base", c1, "--head", c2)
    assert code == 0 and statuses(data) == {B: "created"}
    assert live_paths(emu) == sorted([*BUNDLED, B])


def test_a_rerun_bump_resubmits_an_unchanged_run(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    run = BUNDLED[0]
    (repo.path / run).write_text((repo.path / run).read_text() + "runrepo:\n  rerun: 1\n")
    c1 = repo.commit("rerun")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and statuses(data) == {run: "created"}
    assert live_paths(emu) == sorted([*BUNDLED, run])


def test_an_invalid_run_holds_back_nothing_but_fails_the_job(repo, emu):
    c0 = repo.head()
    repo.write(A, run_text("exp-a"))
    repo.write(B, run_text("exp-b", extra="").replace("  model:\n", "  model:\n    global_batch_size: 100\n"))
    c1 = repo.commit("one good, one bad")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 1
    assert statuses(data) == {A: "created", B: "failed"}
    bad = next(r for r in data["runs"] if r["file"] == B)
    assert "batch-divisible" in bad["detail"] and bad["detail"].startswith("not submitted:")
    assert live_paths(emu) == [A]


def test_deleted_run_files_are_reported_not_stopped(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    repo.git("rm", "-q", BUNDLED[0])
    c1 = repo.commit("delete one")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and statuses(data) == {BUNDLED[0]: "deleted"}
    assert live_paths(emu) == BUNDLED  # still running: stopping is a person's decision
    assert not [e for e in emu.requests() if e["operation"] in ("stopRuns", "deleteRuns")]


def test_a_run_deleted_by_a_person_is_not_brought_back(repo, emu):
    import mcli

    assert submit(repo, "--base", ZERO)[0] == 0
    victim = emu.runs()[0]["name"]
    mcli.delete_run(victim)
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0 and set(statuses(data).values()) == {"existing"}
    assert any("deleted on the platform" in r["detail"] for r in data["runs"])
    assert len(live_paths(emu)) == len(BUNDLED) - 1


def test_dry_run_prints_the_runs_and_sends_nothing(repo, emu, monkeypatch, capsys):
    from runrepo.cli import main

    monkeypatch.delenv("MOSAICML_API_KEY")  # no credentials needed
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(repo.path / "summary.md"))
    code = main(["submit", "--repo", str(repo.path), "--base", ZERO, "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0
    import yaml

    docs = [d for d in yaml.safe_load_all(out) if d]
    assert sorted(d["metadata"]["runrepo_path"] for d in docs) == BUNDLED
    assert all(d["metadata"]["runrepo_commit"] == repo.head() for d in docs)
    assert "would-submit" in err
    assert emu.requests() == [] and emu.runs() == []
    assert not (repo.path / "summary.md").exists()


def test_step_summary_and_github_annotations(repo, emu, monkeypatch, capsys):
    from runrepo.cli import main

    summary = repo.path.parent / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code = main(["submit", "--repo", str(repo.path), "--base", ZERO, "--format", "github", "--retry-wait", "0.01"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert sum(line.startswith("::notice file=runs/experiments/") for line in out.splitlines()) == len(BUNDLED)
    md = summary.read_text()
    assert "| File | Platform run | Cluster | GPUs | Status |" in md
    assert all(f"`{p}`" in md for p in BUNDLED)


def test_identities_are_exact_after_everything(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    assert all(len(runs) == 1 for runs in identities(emu).values())


def test_a_comment_only_edit_is_not_resubmitted(repo, emu):
    c0 = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    run = BUNDLED[0]
    (repo.path / run).write_text("# a new comment\n" + (repo.path / run).read_text())
    c1 = repo.commit("comment")
    code, data, _ = submit(repo, "--base", c0, "--head", c1)
    assert code == 0 and statuses(data) == {run: "skipped"}
    assert "the expanded run is identical" in data["runs"][0]["detail"]
    assert live_paths(emu) == BUNDLED
