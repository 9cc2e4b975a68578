"""Faults against the real mcli retry loop (backoff.expo, 10 tries, on 429/502/503/504)."""

from __future__ import annotations

import time

import pytest
from runrepo.emulator import FaultConfigError, FaultPlan, FaultRule


def _fault_log(emulator, operation="createRun"):
    return [entry["fault"] for entry in emulator.requests(operation)]


def test_lost_answer_after_store_makes_mcli_create_a_duplicate(mcli, run_config, emulator, sleeps):
    emulator.set_faults(rules=["502,after,op=createRun,count=1"])
    returned = mcli.create_run(run_config())  # mcli reports plain success

    stored = emulator.runs()
    assert len(stored) == 2, "the gateway 502 hid a stored run and mcli's retry created another"
    assert returned.name == stored[1]["name"] != stored[0]["name"]
    assert stored[0]["details"]["originalRunInput"] == stored[1]["details"]["originalRunInput"]
    assert stored[0]["details"]["metadata"] == stored[1]["details"]["metadata"]
    assert _fault_log(emulator) == ["502@after", None]
    assert len(sleeps.waits) == 1 and 1 <= sleeps.waits[0] <= 2


def test_dropped_connection_after_store_also_duplicates(mcli, run_config, emulator, sleeps):
    emulator.set_faults(rules=[{"kind": "drop", "phase": "after", "operation": "createRun", "count": 1}])
    mcli.create_run(run_config())
    assert len(emulator.runs()) == 2
    assert _fault_log(emulator) == ["drop@after", None]


@pytest.mark.parametrize(
    "rules",
    [
        ["429,op=createRun,count=2", "503,op=createRun,count=1"],
        ["504,before,op=createRun,count=1", "502,before,op=createRun,count=1"],
        ["drop,before,op=createRun,count=2"],
        [{"status": 503, "body": "json", "operation": "createRun", "count": 1}],  # JSON 503 is retried too
    ],
)
def test_faults_before_store_are_retried_into_exactly_one_run(mcli, run_config, emulator, sleeps, rules):
    emulator.set_faults(rules=rules)
    run = mcli.create_run(run_config())
    assert [r["name"] for r in emulator.runs()] == [run.name]
    faults = _fault_log(emulator)
    assert faults[-1] is None and all(f and f.endswith("@before") for f in faults[:-1])
    # backoff.expo with random_jitter: waits of 1-2 s, then 2-3 s, then 4-5 s ...
    assert [int(w) for w in sleeps.waits] == [1, 2, 4][: len(faults) - 1]


def test_mcli_gives_up_after_ten_tries(mcli, run_config, emulator, sleeps):
    emulator.set_faults(rules=["503,op=createRun"])
    with pytest.raises(mcli.MAPIException) as err:
        mcli.create_run(run_config(), timeout=30)
    assert err.value.status == 503
    assert len(emulator.requests("createRun")) == 10 and emulator.runs() == []
    assert [int(w) for w in sleeps.waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # ~4 minutes unpatched


def test_non_retryable_status_surfaces_at_once(mcli, run_config, emulator, sleeps):
    emulator.set_faults(rules=["500,op=createRun,count=1"])
    with pytest.raises(mcli.MAPIException) as err:
        mcli.create_run(run_config())
    assert err.value.status == 500 and sleeps.waits == []
    assert emulator.runs() == []


def test_timeout_does_not_cancel_the_create(mcli, run_config, emulator, sleeps):
    """create_run(timeout=...) stops waiting, but mcli's thread keeps retrying and stores the run."""
    sleeps.scale = 0.2  # the 1-2 s and 2-3 s waits become 0.2-0.6 s
    emulator.set_faults(rules=["503,op=createRun,count=2"])
    with pytest.raises(TimeoutError):
        mcli.create_run(run_config(), timeout=0.1)
    assert emulator.runs() == []
    deadline = time.monotonic() + 10
    while not emulator.runs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emulator.runs()) == 1


def test_latency_applies_per_request_and_per_operation(mcli, emulator):
    emulator.set_faults(latency_ms=100, rules=["latency,ms=200,op=getClusters"])
    start = time.monotonic()
    mcli.get_clusters()
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    mcli.get_runs()
    assert 0.1 <= time.monotonic() - start < 0.3


def test_other_operations_are_not_affected(mcli, run_config, emulator, sleeps):
    emulator.set_faults(rules=["503,op=getRunsPaginated"])
    mcli.create_run(run_config())
    assert len(emulator.runs()) == 1 and sleeps.waits == []


def _decisions(seed):
    plan = FaultPlan.from_dict({"seed": seed, "rules": ["drop,p=0.5"]})
    return [plan.decide("createRun", "before").kind for _ in range(40)]


def test_probabilistic_faults_replay_with_the_same_seed(mcli, run_config, emulator, sleeps):
    assert _decisions(7) == _decisions(7)
    assert _decisions(7) != _decisions(8)
    assert 5 < _decisions(7).count("drop") < 35

    patterns = []
    for _ in range(2):
        emulator.reset()
        emulator.set_faults(seed=11, rules=["503,before,op=createRun,p=0.4"])
        for i in range(8):
            mcli.create_run(run_config(name=f"seeded-{i}"))
        assert len(emulator.runs()) == 8
        patterns.append(_fault_log(emulator))
    assert patterns[0] == patterns[1] and "503@before" in patterns[0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("teleport", "cannot read fault token"),
        ("502,count=x", "needs a number"),
        ("302", "400-599"),
        ("drop,p=1.5", "within 0..1"),
        ("502,phase=during", "before or after"),
        ("502,colour=red", "unknown fault rule key"),
    ],
)
def test_bad_fault_specs_are_refused(spec, message):
    with pytest.raises(FaultConfigError, match=message):
        FaultRule.parse(spec)
