"""`runrepo status` and `runrepo plan --platform` of a training run that reads a data run: where its data
stands on the platform, the run held (waiting, red when its data cannot complete), then created."""

from __future__ import annotations

import json

from lifecycle_helpers import ZERO, Repo, emu_fixture, files, record, runrepo, status_json, submit  # noqa: F401
from submit_helpers import DATA_RUN, READER

T2 = "runs/experiments/wiki-2node.yaml"


def _repo(tmp_path) -> Repo:
    return Repo(tmp_path / "repo", data=True)


def test_status_of_a_run_waiting_for_its_data(emu, tmp_path):
    repo = _repo(tmp_path)
    assert submit(repo, "--base", ZERO)[0] == 0
    data_run = record(emu, DATA_RUN)["name"]
    code, data, err = status_json(repo)
    row = files(data)[READER]
    assert code == 0, err
    assert row["state"] == "waiting" and not row["problem"] and row["runs"] == []
    assert row["note"] == f"waiting for data: wiki_gpt2 ({data_run} PENDING)"
    assert row["data"] == [{"name": "wiki_gpt2", "file": DATA_RUN, "dataset": row["data"][0]["dataset"],
                            "state": "waiting", "detail": f"{data_run} PENDING"}]
    assert files(data)[DATA_RUN]["state"] == "pending"
    code, out, _ = runrepo(repo, "status")
    assert f"{READER}: reads data: wiki_gpt2 (waiting: {data_run} PENDING)" in out
    # The data run fails: the run it holds cannot be submitted: red until someone reruns it.
    emu.set_status(data_run, "FAILED", "OOMKilled")
    code, data, _ = status_json(repo)
    row = files(data)[READER]
    assert code == 1 and row["state"] == "waiting" and row["problem"]
    assert row["note"].startswith(f"its data cannot complete: wiki_gpt2 ({data_run} FAILED: OOMKilled; rerun it")


def test_status_once_the_data_has_completed_and_the_run_is_created(emu, tmp_path):
    repo = _repo(tmp_path)
    assert submit(repo, "--base", ZERO)[0] == 0
    data_run = record(emu, DATA_RUN)["name"]
    emu.set_status(data_run, "COMPLETED")
    code, data, _ = status_json(repo, READER)
    row = files(data)[READER]
    assert code == 0 and row["state"] == "not-submitted" and "its data has completed" in row["note"]
    assert "the scheduled catch-up of status.yml" in row["note"]
    assert submit(repo, "--base", ZERO)[0] == 0
    code, data, _ = status_json(repo, READER)
    row = files(data)[READER]
    assert code == 0 and row["state"] == "pending" and row["data"][0]["state"] == "ready"
    assert row["data"][0]["detail"] == f"{data_run} completed"


def test_plan_with_the_platform_says_where_the_data_stands(emu, tmp_path):
    repo = _repo(tmp_path)
    assert submit(repo, "--base", ZERO)[0] == 0
    main = repo.head()
    data_run = record(emu, DATA_RUN)["name"]
    repo.write(T2, (repo.path / READER).read_text().replace("gpt3-126m-wiki", "wiki-2node"))
    repo.commit("another run on the same data")

    def need() -> dict:
        code, out, _ = runrepo(repo, "plan", "--base", main, "--format", "json")
        (row,) = [r for r in json.loads(out)["runs"] if r["path"] == T2]
        return row["needs"][0]

    assert need()["state"] == f"being built on the platform: the run waits until it has completed ({data_run} PENDING)"
    emu.set_status(data_run, "COMPLETED")
    assert need()["state"] == f"completed on the platform: merging submits the run at once ({data_run} completed)"
    code, out, _ = runrepo(repo, "plan", "--base", main, "--no-platform", "--format", "json")
    (row,) = [r for r in json.loads(out)["runs"] if r["path"] == T2]
    assert row["needs"][0]["state"].startswith("unchanged here")


def test_a_held_run_a_narrow_backfill_passed_over_is_red_not_forgotten(emu, tmp_path):
    """--base auto always finds a held run again; a manual backfill with a newer --base does not look at it.
    Once its data has completed and a later submission did not create it, status says so, in red."""
    import time

    repo = _repo(tmp_path)
    assert submit(repo, "--base", ZERO)[0] == 0  # the data run created, the reader held
    emu.set_status(record(emu, DATA_RUN)["name"], "COMPLETED")
    time.sleep(0.01)
    held = repo.head()
    repo.write("runs/experiments/exp-b.yaml", (repo.path / "runs/experiments/gpt3-126m-1node.yaml").read_text()
               .replace("gpt3-126m-1node", "exp-b"))
    repo.commit("add b")
    code, data, _ = submit(repo, "--base", held)  # a backfill that starts after the reader's merge
    assert code == 0 and "runs/experiments/exp-b.yaml" in {r["file"] for r in data["runs"]}
    code, data, _ = status_json(repo)
    row = files(data)[READER]
    assert code == 1 and row["state"] == "missing" and row["problem"]
    assert "did not create it" in row["note"] and "runrepo submit --base <a commit before its merge>" in row["note"]
    assert submit(repo, "--base", ZERO)[0] == 0  # as the note says: a wider range creates it, once
    assert files(status_json(repo)[1])[READER]["state"] == "pending"
