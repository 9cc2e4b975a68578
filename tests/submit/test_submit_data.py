"""Data before training, against the emulator with the real mcli: a data run is merged, completes on the
platform, and only then is the training run that reads it created, exactly once, by whichever later
submission (a merge that does not touch it, the scheduled catch-up) finds its data ready."""

from __future__ import annotations

import time

from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    DATA_RUN,
    READER,
    ROOT,
    ZERO,
    emu_fixture,
    live_paths,
    repo_fixture,
    run_text,
    statuses,
    submit,
)

A = "runs/experiments/exp-a.yaml"
T2 = "runs/experiments/wiki-2node.yaml"


def _add_example(repo) -> None:
    for rel in (DATA_RUN, READER):
        repo.write(rel, (ROOT / rel).read_text())


def _runs_of(emu, path: str) -> list[dict]:
    return [r for r in emu.runs() if (r["details"].get("metadata") or {}).get("runrepo_path") == path]


def _name(emu, path: str) -> str:
    (run,) = [r for r in _runs_of(emu, path) if not r["isDeleted"]]
    return run["name"]


def _detail(data: dict, path: str) -> str:
    return next(r["detail"] for r in data["runs"] if r["file"] == path)


def _merged(repo, emu) -> tuple[str, str]:
    """The bundled runs submitted, then a merge adding the data example, submitted: (before, merge)."""
    before = repo.head()
    assert submit(repo, "--base", ZERO)[0] == 0
    _add_example(repo)
    merge = repo.commit("add a data run and a training run that reads it")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", before, "--head", merge)
    assert code == 0, err
    assert statuses(data) == {DATA_RUN: "created", READER: "waiting"}
    assert _detail(data, READER).startswith("waiting for data: wiki_gpt2 (") and _runs_of(emu, READER) == []
    return before, merge


def test_the_chain_data_merged_then_completed_then_the_training_run_created_once(repo, emu):
    before, m1 = _merged(repo, emu)
    # A later merge that does not touch the waiting run: --base auto finds the last submission incomplete
    # and starts where it started, so the held run is looked at again (its data is still pending).
    repo.write(A, run_text("exp-a"))
    m2 = repo.commit("add a")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m2)
    assert code == 0 and statuses(data) == {DATA_RUN: "existing", READER: "waiting", A: "created"}, err
    assert f"its base {before[:12]}" in err and _runs_of(emu, READER) == []
    # The data run completes; the scheduled catch-up (status.yml: head and fallback are main) creates it.
    emu.set_status(_name(emu, DATA_RUN), "RUNNING")
    emu.set_status(_name(emu, DATA_RUN), "COMPLETED")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m2, "--head", m2)
    assert code == 0 and statuses(data)[READER] == "created", err
    assert len(_runs_of(emu, READER)) == 1
    # Nothing is created again: the next catch-up, and a backfill of everything at head.
    code, data, _ = submit(repo, "--base", "auto", "--fallback-base", m2, "--head", m2)
    assert code == 0 and statuses(data) == {}
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0 and set(statuses(data).values()) == {"existing"}
    assert live_paths(emu) == sorted([*BUNDLED, A, DATA_RUN, READER])


def test_data_runs_complete_on_the_emulators_script(repo, emu):
    emu.set_data_lifecycle("QUEUED@0.1,RUNNING@0.2,COMPLETED@0.6")
    emu.set_lifecycle("QUEUED@0.1")  # training runs stay queued: the two scripts are apart
    _, m1 = _merged(repo, emu)
    code, data, _ = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m1)
    assert code == 0 and statuses(data)[READER] == "waiting"  # created a moment ago: not completed yet
    time.sleep(0.8)
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m1)
    assert code == 0 and statuses(data)[READER] == "created", err
    (reader,) = _runs_of(emu, READER)
    (built,) = _runs_of(emu, DATA_RUN)
    assert built["status"] == "COMPLETED" and reader["createdAt"] > built["resumptions"][-1]["endTime"]


def test_a_failed_data_run_is_red_until_a_rerun_of_it_completes(repo, emu):
    _, m1 = _merged(repo, emu)
    emu.set_status(_name(emu, DATA_RUN), "FAILED", "OOMKilled")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m1)
    assert code == 1 and statuses(data)[READER] == "failed"
    assert "its data cannot complete: wiki_gpt2" in _detail(data, READER) and "OOMKilled" in _detail(data, READER)
    assert _runs_of(emu, READER) == []
    # The rerun counter: a new data run of the same dataset; the training run waits for it, then is created.
    repo.edit(DATA_RUN, "name: data-wiki-gpt2\n", "name: data-wiki-gpt2\nrunrepo:\n  rerun: 1\n")
    m2 = repo.commit("rerun the data run")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m2)
    assert code == 0 and statuses(data) == {DATA_RUN: "created", READER: "waiting"}, err
    new = max(_runs_of(emu, DATA_RUN), key=lambda r: r["createdAt"])["name"]
    emu.set_status(new, "COMPLETED")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m2, "--head", m2)
    assert code == 0 and statuses(data)[READER] == "created", err


def test_a_changed_recipe_is_another_dataset_and_a_shared_layer_change_is_not(repo, emu):
    _, m1 = _merged(repo, emu)
    emu.set_status(_name(emu, DATA_RUN), "COMPLETED")
    assert submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m1)[0] == 0
    assert len(_runs_of(emu, READER)) == 1
    # The data run's cluster layer changes: its expanded run does, its dataset does not. A new training
    # run reading it is created at once, from the completed run.
    repo.edit("runs/node/data_prep.yaml", "max_duration: 12.0", "max_duration: 10.0")
    repo.write(T2, (ROOT / READER).read_text().replace("gpt3-126m-wiki", "wiki-2node"))
    m2 = repo.commit("a shorter data-prep budget; another run on the same data")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m1, "--head", m2)
    assert code == 0 and statuses(data)[T2] == "created", err
    # A new recipe (another input) is another dataset: a run added with it waits for its new run.
    repo.edit(DATA_RUN, "    - s3://my-bucket/wikipedia/train_data.jsonl\n",
              "    - s3://my-bucket/wikipedia/train_data.jsonl\n    - s3://my-bucket/wikipedia/more.jsonl\n")
    repo.edit(DATA_RUN, "output_prefix: /mnt/data/wiki/wiki_gpt2", "output_prefix: /mnt/data/wiki/wiki_gpt2_more")
    repo.write(A, (ROOT / READER).read_text().replace("gpt3-126m-wiki", "exp-a"))
    m3 = repo.commit("more wikipedia")
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", m2, "--head", m3)
    assert code == 0 and statuses(data)[DATA_RUN] == "created" and statuses(data)[A] == "waiting", err
    assert statuses(data).get(READER) in (None, "skipped")  # affected by the data run's change: not resubmitted


def test_another_repositorys_completed_data_does_not_count(repo, emu):
    _add_example(repo)
    head = repo.commit("the data example")
    code, data, _ = submit(repo, "--base", ZERO, "--repository", "other/runs")
    assert code == 0 and statuses(data)[READER] == "waiting"
    (theirs,) = [r["name"] for r in _runs_of(emu, DATA_RUN)]
    emu.set_status(theirs, "COMPLETED")
    code, data, _ = submit(repo, "--base", ZERO, "--head", head)  # acme/runs: its own data run is new
    assert code == 0 and statuses(data) == {**{p: "created" for p in BUNDLED}, DATA_RUN: "created",
                                            READER: "waiting"}


def test_dry_run_names_the_data_it_waits_for(repo):
    _add_example(repo)
    repo.commit("the data example")
    code, data, _ = submit(repo, "--base", ZERO, "--dry-run")
    assert code == 0 and statuses(data)[READER] == "would-submit"
    assert _detail(data, READER) == "once its data has completed on the platform: wiki_gpt2"
