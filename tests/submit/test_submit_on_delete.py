"""A merge that deletes a run file: its platform runs are named, and stopped only under `on_delete: stop`
(read at the base), only this repository's live ones: another repository's identical run is untouched."""

from __future__ import annotations

from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    ZERO,
    Repo,
    emu_fixture,
    repo_fixture,
    submit,
)

ONE, TWO = BUNDLED


def _stop_on_delete(repo: Repo) -> None:
    repo.edit("runs/policy.yaml", "on_delete: report", "on_delete: stop")


def _record(emu, repository: str, path: str) -> dict:
    (run,) = [r for r in emu.runs() if r["details"]["metadata"].get("runrepo_repository") == repository
              and r["details"]["metadata"]["runrepo_path"] == path]
    return run


def _start_all(emu) -> None:
    for r in emu.runs():
        emu.set_status(r["name"], "RUNNING")


def _row(data: dict, path: str) -> dict:
    return next(r for r in data["runs"] if r["file"] == path)


def _delete(repo: Repo, path: str) -> str:
    (repo.path / path).unlink()
    return repo.commit(f"drop {path}")


def test_by_default_a_deleted_files_run_is_named_not_stopped(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    _start_all(emu)
    base = repo.head()
    _delete(repo, ONE)
    code, data, _ = submit(repo, "--base", base)
    row, run = _row(data, ONE), _record(emu, "acme/runs", ONE)
    assert code == 0 and row["status"] == "deleted" and row["run"] == run["name"]
    assert f"still live, not stopped (runs/policy.yaml on_delete: report): {run['name']} (RUNNING)" in row["detail"]
    assert f"mcli stop run {run['name']}" in row["detail"]
    assert {r["status"] for r in emu.runs()} == {"RUNNING"} and not emu.requests("stopRuns")


def test_stop_on_delete_stops_only_this_repositorys_live_runs_of_that_file(tmp_path, emu, monkeypatch):
    import mcli
    from mcli.api.engine import engine
    from runrepo.submit.select import select

    a, b = Repo(tmp_path / "a"), Repo(tmp_path / "b")
    for r in (a, b):
        _stop_on_delete(r)
        r.commit("stop on delete")
    assert submit(a, "--base", ZERO, "--repository", "acme/a")[0] == 0
    assert submit(b, "--base", ZERO, "--repository", "acme/b")[0] == 0  # the identical runs, another repository
    monkeypatch.setattr(engine, "_CONNECTION", None)
    legacy = next(c for c in select(a.path, ZERO, "HEAD").to_submit if c.path == ONE).run  # no repository recorded
    mcli.create_run(mcli.RunConfig.from_dict(legacy))
    _start_all(emu)
    ours, theirs = _record(emu, "acme/a", ONE), _record(emu, "acme/b", ONE)
    assert ours["details"]["metadata"]["runrepo_digest"] == theirs["details"]["metadata"]["runrepo_digest"]
    base = a.head()
    _delete(a, ONE)
    code, data, err = submit(a, "--base", base, "--repository", "acme/a")
    row = _row(data, ONE)
    assert code == 0 and row["status"] == "stopped" and row["run"] == ours["name"], (data, err)
    assert "not touched, recorded without a repository" in row["detail"]
    state = {r["name"]: r for r in emu.runs()}
    assert state[ours["name"]]["status"] == "STOPPED"
    assert state[ours["name"]]["reason"].startswith("runrepo: its run file was deleted")
    assert {r["status"] for n, r in state.items() if n != ours["name"]} == {"RUNNING"}  # b's, TWO's, the legacy copy
    assert not any(r["isDeleted"] for r in emu.runs())
    assert len(emu.requests("stopRuns")) == 1
    # again: nothing live is left to stop, and nothing else is touched
    code, data, _ = submit(a, "--base", base, "--repository", "acme/a")
    assert code == 0 and _row(data, ONE)["status"] == "deleted" and len(emu.requests("stopRuns")) == 1
    assert _row(data, ONE)["detail"].startswith("no live run of this repository")


def test_a_finished_run_is_not_stopped_and_the_policy_counts_from_the_base(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    one, two = _record(emu, "acme/runs", ONE), _record(emu, "acme/runs", TWO)
    emu.set_status(one["name"], "RUNNING")
    emu.set_status(two["name"], "COMPLETED")
    base = repo.head()
    # the policy and the deletion in one pull request: the base's policy (report) judges it
    _stop_on_delete(repo)
    (repo.path / ONE).unlink()
    repo.commit("stop on delete, and drop ONE")
    code, data, _ = submit(repo, "--base", base)
    assert code == 0 and _row(data, ONE)["status"] == "deleted" and not emu.requests("stopRuns")
    # now the policy is at the base: dropping TWO stops nothing, its run has completed
    base = repo.head()
    _delete(repo, TWO)
    code, data, _ = submit(repo, "--base", base)
    assert code == 0 and _row(data, TWO)["status"] == "deleted" and not emu.requests("stopRuns")
    assert {r["name"]: r["status"] for r in emu.runs()} == {one["name"]: "RUNNING", two["name"]: "COMPLETED"}


def test_a_stop_that_fails_is_red(repo, emu):
    _stop_on_delete(repo)
    repo.commit("stop on delete")
    assert submit(repo, "--base", ZERO)[0] == 0
    _start_all(emu)
    base = repo.head()
    _delete(repo, ONE)
    emu.set_faults(rules=[{"kind": "http", "status": 403, "operation": "stopRuns", "body": "json"}])
    code, data, _ = submit(repo, "--base", base)
    row = _row(data, ONE)
    assert code == 1 and row["status"] == "failed" and row["detail"].startswith("not stopped (on_delete: stop)")
    assert {r["status"] for r in emu.runs()} == {"RUNNING"}


def test_without_a_usable_key_the_deleted_row_says_so_and_stays_green(repo, emu, monkeypatch):
    assert submit(repo, "--base", ZERO)[0] == 0
    base = repo.head()
    _delete(repo, ONE)
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    code, data, _ = submit(repo, "--base", base)
    row = _row(data, ONE)
    assert code == 0 and row["status"] == "deleted" and not row["run"]
    assert "its platform runs are not named: the platform could not be read" in row["detail"]


def test_on_delete_is_a_known_policy_key_with_two_values():
    import pytest
    from runrepo.errors import RunrepoError
    from runrepo.validate import policy

    assert policy.on_delete(policy.parse("version: 1\non_delete: stop\n")) == "stop"
    assert policy.on_delete(policy.parse("version: 1\n")) == "report"
    with pytest.raises(RunrepoError, match=r"policy `on_delete` must be report or stop, not 'kill'") as e:
        policy.parse("version: 1\non_delete: kill\n")
    assert (e.value.file, e.value.line) == ("runs/policy.yaml", 2)
    with pytest.raises(RunrepoError, match=r"did you mean `on_delete`"):
        policy.parse("version: 1\non_deleted: stop\n")


def test_stop_on_delete_when_base_auto_cannot_read_the_platform_is_red(repo, emu, monkeypatch):
    _stop_on_delete(repo)
    repo.commit("stop on delete")
    assert submit(repo, "--base", ZERO)[0] == 0
    base = repo.head()
    _delete(repo, ONE)
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", base)
    row = _row(data, ONE)
    assert code == 1 and row["status"] == "failed", err
    assert row["detail"].startswith("not stopped (on_delete: stop): the platform could not be read: the API key")
