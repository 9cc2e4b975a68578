"""The real mcli SDK against the emulator: runs, pagination, users, clusters."""

from __future__ import annotations

import pytest


def test_create_and_get_round_trip(mcli, run_config, emulator, base_run):
    created = mcli.create_run(run_config())
    assert created.name.startswith("nemo-gpt-test-") and len(created.name) == len("nemo-gpt-test-") + 6
    assert (created.status.value, created.cluster, created.gpus, created.gpu_type) == (
        "PENDING",
        "r1z1",
        8,
        "a100_40gb",
    )

    [fetched] = mcli.get_runs(include_details=True)
    assert fetched.name == created.name
    assert fetched.metadata == base_run["metadata"]
    assert fetched.submitted_config.image == base_run["image"]
    assert fetched.submitted_config.compute == base_run["compute"]
    stored = emulator.runs()[0]["details"]["originalRunInput"]
    assert stored["runName"] == "nemo-gpt-test" and stored["envVariables"] == []

    [plain] = mcli.get_runs()
    assert plain.metadata is None  # the query without details does not ask for it
    assert mcli.get_run(created.name).metadata == base_run["metadata"]


def test_pagination_over_more_than_a_page(mcli, run_config, emulator):
    futures = [mcli.create_run(run_config(name=f"r{i}"), future=True) for i in range(130)]
    names = {f.result(timeout=30).name for f in futures}
    assert len(names) == 130 == len(emulator.runs())

    first = mcli.get_runs()  # mcli's default limit is 100
    assert len(first) == 100 and first.has_next_page
    second = first.next_page()
    assert len(second) == 30 and not second.has_next_page
    assert {r.name for r in first} | {r.name for r in second} == names
    assert [r.created_at for r in first] == sorted((r.created_at for r in first), reverse=True)

    small = mcli.get_runs(limit=50)
    pages = [small]
    while pages[-1].has_next_page:
        pages.append(pages[-1].next_page(limit=50))
    assert [len(p) for p in pages] == [50, 50, 30]
    assert {r.name for p in pages for r in p} == names


def test_filters(mcli, run_config, emulator):
    a = mcli.create_run(run_config(name="on-a100", compute={"cluster": "r1z1", "gpus": 8}))
    h = mcli.create_run(run_config(name="on-h100", compute={"gpu_type": "h100_80gb", "gpus": 16}))
    assert (h.cluster, h.node_count) == ("r9z1", 2)
    assert [r.name for r in mcli.get_runs(cluster_names=["r9z1"])] == [h.name]
    assert [r.name for r in mcli.get_runs(gpu_types=["a100_40gb"])] == [a.name]
    assert [r.name for r in mcli.get_runs(gpu_nums=[16])] == [h.name]
    assert [r.name for r in mcli.get_runs(runs=[a.name])] == [a.name]
    assert len(mcli.get_runs(after=a.created_at)) == 2
    assert [r.name for r in mcli.get_runs(before=h.created_at)] == [a.name]
    emulator.set_status(a.name, "RUNNING")
    assert [r.name for r in mcli.get_runs(statuses=["running"])] == [a.name]


def test_stop_delete_and_include_deleted(mcli, run_config, emulator):
    keep = mcli.create_run(run_config(name="keep"))
    gone = mcli.create_run(run_config(name="gone"))

    stopped = mcli.stop_run(gone.name, reason="testing")
    assert stopped.status.value == "STOPPED"
    assert mcli.get_run(gone.name).reason == "testing"

    deleted = mcli.delete_run(gone.name)
    assert deleted.is_deleted
    assert [r.name for r in mcli.get_runs()] == [keep.name]
    listed = {r.name: r for r in mcli.get_runs(include_deleted=True)}
    assert set(listed) == {keep.name, gone.name} and listed[gone.name].is_deleted
    record = next(r for r in emulator.runs() if r["name"] == gone.name)
    assert record["isDeleted"] and record["deletedAt"]

    with pytest.raises(mcli.MAPIException) as err:
        mcli.get_run(gone.name)
    assert err.value.status == 404


def test_restart_update_and_metadata(mcli, run_config, base_run):
    run = mcli.create_run(run_config())
    mcli.stop_run(run.name)
    [restarted] = mcli.start_runs([run.name])
    assert restarted.status.value == "PENDING" and len(restarted.resumptions) == 2
    updated = mcli.update_run(run.name, priority="low", max_retries=3)
    assert (updated.priority, updated.max_retries) == ("low", 3)
    mcli.update_run_metadata(run.name, {"step": 10})
    assert mcli.get_run(run.name).metadata == {**base_run["metadata"], "step": 10}


def test_users_scope_all_users_and_emails(mcli, run_config, monkeypatch):
    monkeypatch.setenv("MOSAICML_API_KEY", "alice")
    alice = mcli.create_run(run_config(name="alice-run"))
    monkeypatch.setenv("MOSAICML_API_KEY", "bob")
    bob = mcli.create_run(run_config(name="bob-run"))

    assert [r.name for r in mcli.get_runs()] == [bob.name]
    assert {r.name for r in mcli.get_runs(all_users=True)} == {alice.name, bob.name}
    assert [r.name for r in mcli.get_runs(user_emails=["alice@example.com"])] == [alice.name]
    assert mcli.get_runs(all_users=True)[0].created_by in {"alice@example.com", "bob@example.com"}


def test_get_clusters(mcli, run_config):
    clusters = {c.name: c for c in mcli.get_clusters()}
    assert set(clusters) == {"r1z1", "r7z2", "r9z1"}
    gpu_types = {name: c.cluster_instances[0].gpu_type for name, c in clusters.items()}
    assert gpu_types == {"r1z1": "a100_40gb", "r7z2": "a100_80gb", "r9z1": "h100_80gb"}
    assert all(c.cluster_instances[0].gpus == 8 for c in clusters.values())

    mcli.create_run(run_config(compute={"cluster": "r7z2", "gpus": 16}))
    util = mcli.get_cluster("r7z2", include_utilization=True).utilization
    assert [r.gpu_num for r in util.queued_runs_by_user] == [16]
    assert util.cluster_instance_utils[0].gpus_total == 64


def test_platform_validation_error_reaches_mcli_without_retry(mcli, run_config, emulator, sleeps):
    with pytest.raises(mcli.MAPIException) as err:
        mcli.create_run(run_config(compute={"cluster": "r1z1", "gpus": -1}))
    assert err.value.status == 400
    assert "compute.gpus must be a non-negative integer" in str(err.value)
    assert len(emulator.requests("createRun")) == 1 and sleeps.waits == []
    assert emulator.runs() == []


def test_bad_api_key_is_an_error_not_a_hang(mcli, emulator, monkeypatch, sleeps):
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    with pytest.raises(mcli.MAPIException) as err:
        mcli.get_runs(timeout=5)
    assert err.value.status == 401
    assert "API key" in str(err.value)
    assert len(emulator.requests()) == 1 and sleeps.waits == []
