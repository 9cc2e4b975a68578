"""Identity against the platform as it really is: several repositories in one organisation, runs
older than any window, copies that have started, and the per-pull-request cap at submit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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

ONE, TWO = BUNDLED


def _copies(repo: Repo, monkeypatch, n: int, repository: str | None = "acme/runs") -> None:
    """n copies of ONE's run created with mcli directly, as a blind retry or an older runrepo would."""
    import mcli
    from mcli.api.engine import engine
    from runrepo.submit.select import select

    monkeypatch.setattr(engine, "_CONNECTION", None)
    run = next(c for c in select(repo.path, ZERO, "HEAD").to_submit if c.path == ONE).run
    if repository:
        run["metadata"]["runrepo_repository"] = repository
    for _ in range(n):
        mcli.create_run(mcli.RunConfig.from_dict(run))


def _records(emu, path: str) -> list[dict]:
    return sorted((r for r in emu.runs() if r["details"]["metadata"].get("runrepo_path") == path),
                  key=lambda r: (r["createdAt"], r["id"]))


def test_two_repositories_with_the_same_run_each_submit_it(tmp_path, emu):
    a, b = Repo(tmp_path / "a"), Repo(tmp_path / "b")
    assert statuses(submit(a, "--base", ZERO, "--repository", "acme/a")[1]) == dict.fromkeys(BUNDLED, "created")
    code, data, _ = submit(b, "--base", ZERO, "--repository", "acme/b")
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "created")  # not A's run
    code, data, _ = submit(a, "--base", ZERO, "--repository", "acme/a")
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "existing")
    assert not any(r["isDeleted"] for r in emu.runs())  # neither touched the other's runs
    by_repo = {r["details"]["metadata"]["runrepo_repository"] for r in emu.runs()}
    assert by_repo == {"acme/a", "acme/b"} and len(emu.runs()) == 4


def test_a_renamed_repository_keeps_its_runs_by_id(tmp_path, emu):
    repo = Repo(tmp_path / "r")
    assert submit(repo, "--base", ZERO, "--repository", "acme/old-name", "--repository-id", "77")[0] == 0
    code, data, _ = submit(repo, "--base", ZERO, "--repository", "acme/new-name", "--repository-id", "77")
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "existing")
    # another repository that took the old name is not the same repository
    code, data, _ = submit(repo, "--base", ZERO, "--repository", "acme/old-name", "--repository-id", "78")
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "created")


def test_runs_from_before_repositories_were_recorded_count_but_are_never_deleted(repo, emu, monkeypatch):
    _copies(repo, monkeypatch, 1, repository=None)  # as an older runrepo submitted it from a laptop
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0 and statuses(data) == {ONE: "existing", TWO: "created"}
    _copies(repo, monkeypatch, 1, repository=None)  # two copies nobody can attribute: a person decides
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 1 and statuses(data) == {ONE: "duplicate", TWO: "existing"}
    assert len(emu.runs()) == 3 and not any(r["isDeleted"] for r in emu.runs())


def test_old_runs_are_found_without_any_window(tmp_path, emu, monkeypatch):
    """Runs of a year ago: the look-up starts at the oldest commit that has each run file."""
    year_ago = datetime.now(timezone.utc) - timedelta(days=400)
    repo = Repo(tmp_path / "old", date=year_ago.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert submit(repo, "--base", ZERO)[0] == 0
    for r in emu.runs():
        emu.backdate(r["name"], year_ago + timedelta(hours=1))
    code, data, err = submit(repo, "--base", ZERO)
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "existing"), err
    assert "created since" in err and len(emu.runs()) == 2
    # a person deletes a run (with mcli): a rerun of the range does not bring it back
    import mcli
    from mcli.api.engine import engine

    monkeypatch.setattr(engine, "_CONNECTION", None)
    mcli.delete_runs([_records(emu, ONE)[0]["name"]])
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0 and statuses(data) == dict.fromkeys(BUNDLED, "existing")
    assert live_paths(emu) == [TWO]


def test_base_auto_over_an_old_history(tmp_path, emu):
    year_ago = datetime.now(timezone.utc) - timedelta(days=400)
    repo = Repo(tmp_path / "old", date=year_ago.strftime("%Y-%m-%dT%H:%M:%SZ"))
    first = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    for r in emu.runs():
        emu.backdate(r["name"], year_ago + timedelta(hours=1))
    repo.write("runs/experiments/new-run.yaml", run_text("new-run"))
    head = repo.commit("a new run")
    code, data, err = submit(repo, "--base", "auto", "--head", head)
    assert code == 0 and statuses(data) == {"runs/experiments/new-run.yaml": "created"}, err
    assert f"last submitted commit {first[:12]}" in err


def test_a_started_duplicate_is_never_stopped(repo, emu, monkeypatch):
    """An old COMPLETED copy and a newer RUNNING copy of one identity: reported red, nothing stopped."""
    _copies(repo, monkeypatch, 2)
    old, new = _records(emu, ONE)
    emu.set_status(old["name"], "COMPLETED")
    emu.set_status(new["name"], "RUNNING")
    code, data, err = submit(repo, "--base", ZERO, "--lookback-days", "60")
    row = next(r for r in data["runs"] if r["file"] == ONE)
    assert code == 1 and row["status"] == "duplicate", err
    assert old["name"] in row["detail"] and new["name"] in row["detail"] and "mcli stop run" in row["detail"]
    after = {r["name"]: r for r in emu.runs()}
    assert after[new["name"]]["status"] == "RUNNING" and not after[new["name"]]["isDeleted"]
    assert emu.requests("DeleteRuns") == [] and emu.requests("StopRuns") == []


def test_only_copies_that_have_not_started_are_removed(repo, emu, monkeypatch):
    _copies(repo, monkeypatch, 3)
    first, queued, pending = _records(emu, ONE)
    emu.set_status(first["name"], "RUNNING")
    emu.set_status(queued["name"], "QUEUED")
    code, data, _ = submit(repo, "--base", ZERO)
    row = next(r for r in data["runs"] if r["file"] == ONE)
    assert code == 0 and row["status"] == "duplicate-removed", row
    after = {r["name"]: r for r in emu.runs()}
    assert not after[first["name"]]["isDeleted"] and after[first["name"]]["status"] == "RUNNING"
    assert after[queued["name"]]["isDeleted"] and after[pending["name"]]["isDeleted"]


def test_the_per_pull_request_cap_holds_at_submit(repo, emu):
    """An admin merge past a red plan: submit creates none of the merge's unapproved runs."""
    policy = repo.path / "runs/policy.yaml"
    policy.write_text(policy.read_text().replace("max_gpu_hours_per_pr: 6144", "max_gpu_hours_per_pr: 300"))
    base = repo.commit("a tighter per-PR budget")
    for i in range(2):  # 2 x 8 GPUs x 24 h = 384 GPU-hours > 300
        repo.write(f"runs/experiments/sweep-{i}.yaml", run_text(f"sweep-{i}"))
    head = repo.commit("two runs in one pull request")
    code, data, _ = submit(repo, "--base", base, "--head", head)
    assert code == 1 and set(statuses(data).values()) == {"failed"}
    detail = data["runs"][0]["detail"]
    assert "policy-pr-gpu-hours" in detail and "over the per-pull-request limit 300" in detail
    assert "approvals" in detail and emu.runs() == []
    # an approval merged first lets that run through; the other still fits on its own
    repo.git("checkout", "-q", "-b", "again", base)
    policy.write_text(policy.read_text().replace(
        "approvals: []",
        "approvals:\n  - run: runs/experiments/sweep-0.yaml\n    reason: approved in review #12\n    max_gpu_hours: 200"))
    approved = repo.commit("approve sweep-0")
    repo.git("cherry-pick", head)
    code, data, _ = submit(repo, "--base", approved, "--head", repo.head())
    assert code == 0 and set(statuses(data).values()) == {"created"}


def test_two_merges_in_one_range_are_each_held_to_the_cap(repo, emu):
    """A caught-up range (two merges whose workflows were dropped) is not one pull request."""
    policy = repo.path / "runs/policy.yaml"
    policy.write_text(policy.read_text().replace("max_gpu_hours_per_pr: 6144", "max_gpu_hours_per_pr: 300"))
    base = repo.commit("a tighter per-PR budget")
    for i in range(2):  # one 192 GPU-hour run per merge: each within 300, together 384
        repo.git("checkout", "-q", "-b", f"pr{i}", "main")
        repo.write(f"runs/experiments/pr-{i}.yaml", run_text(f"pr-{i}"))
        repo.commit(f"run {i}")
        repo.git("checkout", "-q", "main")
        repo.git("merge", "-q", "--no-ff", f"pr{i}", "-m", f"Merge pr{i}")
    code, data, _ = submit(repo, "--base", base)
    assert code == 0 and set(statuses(data).values()) == {"created"}


def test_without_a_repository_nothing_is_created(repo, emu, monkeypatch, capsys):
    from runrepo.cli import main

    monkeypatch.delenv("GITHUB_REPOSITORY")
    assert main(["submit", "--repo", str(repo.path), "--base", ZERO]) == 2
    assert "--repository OWNER/NAME" in capsys.readouterr().err and emu.runs() == []
    assert main(["submit", "--repo", str(repo.path), "--base", ZERO, "--dry-run"]) == 0  # no credentials either
