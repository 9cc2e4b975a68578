"""`runrepo status` against the emulator through the real mcli: what each run file's runs are doing,
and why a file has none."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lifecycle_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    ZERO,
    Repo,
    emu_fixture,
    files,
    record,
    repo_fixture,
    run_text,
    runrepo,
    status_json,
    submit,
)

ONE, TWO = BUNDLED  # 1 node (8 GPUs) and 2 nodes (16 GPUs) on r7z2, 24 h each


def _ago(hours: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat()


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_running_and_failed_runs_with_times_and_gpu_hours(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    one, two = record(emu, ONE), record(emu, TWO)
    now = datetime.now(timezone.utc)
    emu.schedule(one["name"], [{"status": "RUNNING", "at": _ago(2)}])
    emu.schedule(two["name"], [{"status": "RUNNING", "at": _ago(3)},
                               {"status": "FAILED", "at": _ago(1), "reason": "OOMKilled"}])
    before = len(emu.requests("getRunsPaginated"))
    code, data, err = status_json(repo)
    assert len(emu.requests("getRunsPaginated")) == before + 1  # one listing, no request per file
    assert code == 1 and not data["ok"], err  # a failed run
    by = files(data)
    run1, run2 = by[ONE]["runs"][0], by[TWO]["runs"][0]
    assert (by[ONE]["state"], by[ONE]["problem"], by[ONE]["current"]) == ("running", False, True)
    assert run1["name"] == one["name"] and run1["cluster"] == "r7z2" and run1["ended"] is None
    assert abs((_at(run1["started"]) - (now - timedelta(hours=2))).total_seconds()) < 60
    assert run1["elapsed_hours"] == pytest.approx(2, abs=0.05)
    assert run1["gpu_hours"] == pytest.approx(8 * 2, abs=0.5) and run1["budget_gpu_hours"] == 8 * 24
    assert (by[TWO]["state"], by[TWO]["problem"], run2["reason"]) == ("failed", True, "OOMKilled")
    assert run2["elapsed_hours"] == pytest.approx(2, abs=0.01) and run2["gpu_hours"] == pytest.approx(32, abs=0.1)
    assert run2["budget_gpu_hours"] == 16 * 24 and by[TWO]["note"] == f"{two['name']} failed: OOMKilled"
    code, out, _ = runrepo(repo, "status", ONE)
    assert code == 0 and one["name"] in out and two["name"] not in out
    assert out.splitlines()[1].split() == ["FILE", "RUN", "STATUS", "CREATED", "STARTED", "ENDED", "ELAPSED",
                                           "GPU-H", "USED/BUDGET", "CLUSTER"]
    assert "16.0 / 192" in out and "2h 00m" in out


def test_why_a_file_has_no_run(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    first = repo.head()
    new = repo.write("runs/experiments/later.yaml", run_text("later"))
    bad = repo.write("runs/experiments/bad.yaml", run_text("bad", cluster="r1z1", extra="compute:\n  gpus: 9\n"))
    repo.commit("two more runs")
    code, data, _ = status_json(repo)
    by = files(data)
    assert code == 1  # bad fails check
    assert by[new]["state"] == "not-submitted" and by[new]["problem"] is False
    assert by[new]["note"].startswith(f"its last change ({repo.head()[:12]}) is not in a submission yet "
                                      f"(the last was from {first[:12]})")
    assert by[bad]["state"] == "invalid" and by[bad]["note"].startswith("fails check, so it is never submitted: ")
    assert "runs/experiments/bad.yaml" in by[bad]["note"]
    # the merge is submitted; a create refused by the platform leaves a file its run should have
    miss = repo.write("runs/experiments/miss.yaml", run_text("miss"))
    repo.commit("one more")
    emu.set_faults(rules=[{"kind": "http", "status": 400, "operation": "createRun", "body": "json", "count": 1}])
    code, sub, _ = submit(repo, "--base", first)
    assert code == 1 and sum(r["status"] == "failed" for r in sub["runs"]) == 2  # bad (check) and one refused
    refused = next(r["file"] for r in sub["runs"] if r["status"] == "failed" and r["file"] != bad)
    code, data, _ = status_json(repo)
    by = files(data)
    assert by[refused]["state"] == "missing" and by[refused]["problem"] is True
    assert by[refused]["note"].startswith(f"the submission from {repo.head()[:12]} covers its last change")
    ok = ({new, miss} - {refused}).pop()
    assert by[ok]["state"] == "pending" and by[ok]["current"] is True  # created, not started


def test_only_this_repositorys_runs(tmp_path, emu):
    a, b = Repo(tmp_path / "a"), Repo(tmp_path / "b")
    assert submit(a, "--base", ZERO, "--repository", "acme/a")[0] == 0
    assert submit(b, "--base", ZERO, "--repository", "acme/b")[0] == 0
    code, data, _ = status_json(a, "--repository", "acme/a")
    names = {r["name"] for f in data["files"] for r in f["runs"]}
    assert code == 0 and names == {record(emu, p, "acme/a")["name"] for p in BUNDLED}
    assert {r["repository"] for f in data["files"] for r in f["runs"]} == {"acme/a"}


def test_an_edit_not_submitted_yet_and_a_shared_layer_change(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    first, old = repo.head(), record(emu, ONE)["name"]
    repo.edit(ONE, "data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]",
              "data_prefix: [1.0, /mnt/data/pile/pile_01_text_document]")
    repo.commit("edit ONE")
    _, data, _ = status_json(repo)
    one = files(data)[ONE]
    assert one["current"] is False and one["state"] == "pending"
    assert one["note"].startswith(f"edited since {old} was submitted: the change ({repo.head()[:12]})")
    assert submit(repo, "--base", first)[0] == 0
    _, data, _ = status_json(repo)
    one = files(data)[ONE]
    assert one["current"] is True and one["note"] == "" and len(one["runs"]) == 2 and one["runs"][1]["name"] == old
    second = repo.head()
    repo.edit("runs/base.yaml", "PYTHONUNBUFFERED: \"1\"", "PYTHONUNBUFFERED: \"1\"\n  NCCL_DEBUG: WARN")
    repo.commit("a shared layer")
    assert submit(repo, "--base", second)[0] == 0  # affected, not resubmitted
    _, data, _ = status_json(repo)
    assert all(not f["current"] and "shared layers changed since" in f["note"] for f in data["files"])


def test_a_live_run_whose_file_is_gone_shows_with_all(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    two = record(emu, TWO)["name"]
    emu.set_status(two, "RUNNING")
    (repo.path / TWO).unlink()
    repo.commit("drop TWO")
    code, data, _ = status_json(repo, "--all")
    gone = files(data)[TWO]
    assert code == 0 and gone["orphan"] is True and gone["state"] == "running"
    assert gone["note"].startswith(f"run file deleted; still live: {two}; stop it with `mcli stop run {two}`")
    code, _, err = runrepo(repo, "status", TWO)
    assert code == 2 and err.strip().endswith("no such run file at HEAD (runs of deleted files: `runrepo status --all`)")


def test_bad_arguments_and_an_unreadable_platform(repo, emu, monkeypatch):
    code, _, err = runrepo(repo, "status", "runs/base.yaml")
    assert code == 2 and err == "runs/base.yaml: error[usage] not a run file under runs/experiments/ or runs/data/\n"
    monkeypatch.delenv("GITHUB_REPOSITORY")
    code, _, err = runrepo(repo, "status")
    assert code == 2 and "which repository's runs? --repository OWNER/NAME" in err and "Traceback" not in err
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    code, out, err = runrepo(repo, "status", "--repository", "acme/runs")
    assert code == 1 and out == "" and err.splitlines()[-1].startswith(
        "runrepo status: error[platform] cannot read the platform: the API key was rejected")
    code, out, _ = runrepo(repo, "status", "--repository", "acme/runs", "--format", "markdown")
    assert code == 1 and out.startswith("### Run status\n\n**The platform could not be read:** the API key was")
    code, _, err = runrepo(repo, "status", "--timeout", "-1")
    assert code == 2 and "must be positive, got -1" in err
