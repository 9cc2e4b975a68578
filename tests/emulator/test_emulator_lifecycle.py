"""Runs that move on a script, and their logs, read through the real mcli SDK (HTTP and websocket)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest


@pytest.fixture
def closing(mcli):
    """mcli's websocket session is per connection: close it so it does not outlive the emulator."""
    yield mcli
    from mcli.api.engine import engine

    if engine._CONNECTION is not None:
        engine._CONNECTION.close()


def _wait_for(fn, timeout: float = 5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_new_runs_follow_the_default_lifecycle_at_the_scripted_times(mcli, run_config, emulator):
    emulator.set_lifecycle("QUEUED@0.1,RUNNING@0.3,COMPLETED@0.6")
    run = mcli.create_run(run_config(compute={"cluster": "r7z2", "gpus": 16}))
    assert run.status.value == "PENDING"
    done = _wait_for(lambda: (r := mcli.get_run(run.name)).status.value == "COMPLETED" and r)
    # the times are the script's, not the moment the run was looked at
    assert abs((done.started_at - run.created_at).total_seconds() - 0.3) < 0.01
    assert abs((done.completed_at - run.created_at).total_seconds() - 0.6) < 0.01
    assert [x.status.value for x in done.lifecycle] == ["PENDING", "QUEUED", "RUNNING", "COMPLETED"]
    assert [(n.rank, n.status) for n in done.nodes] == [(0, "COMPLETED"), (1, "COMPLETED")]
    assert done.get_gpu_hours() == pytest.approx(16 * 0.3 / 3600, rel=0.05)


def test_a_scripted_failure_carries_its_reason(mcli, run_config, emulator):
    run = mcli.create_run(run_config())
    emulator.schedule(run.name, "RUNNING@0,FAILED@0.1:OOMKilled")
    failed = _wait_for(lambda: (r := mcli.get_run(run.name)).status.value == "FAILED" and r)
    assert failed.reason == "OOMKilled" and failed.started_at is not None


def test_a_stopped_run_ignores_the_rest_of_its_script(mcli, run_config, emulator):
    emulator.set_lifecycle("RUNNING@0.2,COMPLETED@0.4")
    run = mcli.create_run(run_config())
    mcli.stop_run(run.name)
    time.sleep(0.5)
    got = mcli.get_run(run.name)
    assert got.status.value == "STOPPED" and got.started_at is None
    assert emulator.runs()[0]["schedule"] == []


def test_steps_in_the_past_apply_at_once_with_their_own_times(mcli, run_config, emulator):
    run = mcli.create_run(run_config())
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    emulator.schedule(run.name, [{"status": "RUNNING", "at": start.isoformat()}])
    got = mcli.get_run(run.name)
    assert got.status.value == "RUNNING" and abs((got.started_at - start).total_seconds()) < 0.001
    assert got.get_gpu_hours() == pytest.approx(8 * 2, rel=0.01)


def test_logs_per_node_and_tail(closing, run_config, emulator):
    mcli = closing
    run = mcli.create_run(run_config(compute={"cluster": "r9z1", "gpus": 16}))
    emulator.schedule(run.name, [{"status": "RUNNING", "after": 0, "logs": {"0": "loss 2.1\n", "1": "rank one\n"}}])
    zero = "".join(mcli.get_run_logs(run.name))
    one = "".join(mcli.get_run_logs(run.name, node_rank=1))
    assert zero.endswith("RUNNING on r9z1 (8 GPUs)\nloss 2.1\n") and "[node 0]" in zero
    assert one.endswith("rank one\n") and "[node 1]" in one and "loss" not in one
    assert "".join(mcli.get_run_logs(run.name, tail=9)) == "loss 2.1\n"
    with pytest.raises(Exception, match="node rank 2 does not exist"):
        list(mcli.get_run_logs(run.name, node_rank=2))
    assert [e["operation"] for e in emulator.requests("getRunLogsV2")] == ["getRunLogsV2"] * 4


def test_logs_of_a_run_that_has_not_started_are_refused(closing, run_config, emulator):
    run = closing.create_run(run_config())
    with pytest.raises(Exception, match=r"has not started \(PENDING\): no logs yet"):
        list(closing.get_run_logs(run.name))


def test_follow_streams_until_the_run_ends(closing, run_config, emulator):
    mcli = closing
    run = mcli.create_run(run_config())
    emulator.schedule(run.name, [{"status": "RUNNING", "after": 0},
                                 {"after": 0.3, "logs": "step 1\n"},
                                 {"after": 0.6, "logs": "step 2\n"},
                                 {"status": "COMPLETED", "after": 0.9}])
    start, seen = time.monotonic(), []
    for line in mcli.follow_run_logs(run.name):
        seen.append((round(time.monotonic() - start, 1), line))
    lines = [line for _, line in seen]
    assert lines[1:] == ["step 1\n", "step 2\n", lines[-1]] and lines[-1].endswith("[node 0] COMPLETED\n")
    assert seen[1][0] >= 0.2 and seen[-1][0] >= 0.8  # streamed as written, not all at the end


def test_apollo_subprotocol_and_a_bad_key(emulator, run_config, mcli):
    """gql speaks either protocol; the key is checked in connection_init."""
    from gql import Client, gql
    from gql.transport.websockets import WebsocketsTransport
    from mcli.api.runs.api_get_run_logs import QUERY

    run = mcli.create_run(run_config())
    emulator.schedule(run.name, [{"status": "RUNNING", "after": 0, "logs": "hello\n"}])
    url = emulator.endpoint.replace("http://", "ws://")

    async def read(key: str, protocol: str):
        transport = WebsocketsTransport(url=url, init_payload={"Authorization": key}, subprotocols=[protocol])
        request = gql(QUERY)
        request.variable_values = {"getRunLogsInput": {"name": run.name, "follow": False}}
        async with Client(transport=transport) as session:
            return [x async for x in session.subscribe(request)]

    for protocol in ("graphql-ws", "graphql-transport-ws"):
        (answer,) = asyncio.run(asyncio.wait_for(read("test-key", protocol), 10))
        assert answer["getRunLogsV2"]["endOffset"] == len(emulator.runs()[0]["logs"]["0"]["0"].encode())
    with pytest.raises(Exception):  # noqa: B017 (gql's error type differs by protocol)
        asyncio.run(asyncio.wait_for(read("bad-key", "graphql-transport-ws"), 10))


def test_a_subscription_that_opens_with_a_fragment_is_refused(emulator, run_config, mcli):
    """`subscription { ... on Subscription { getRunLogsV2 } }` names no root field: an error to the client
    (the session read `.name` of the fragment and died, dropping the connection; found by mypy)."""
    from gql import Client, gql
    from gql.transport.websockets import WebsocketsTransport

    run = mcli.create_run(run_config())
    url = emulator.endpoint.replace("http://", "ws://")
    query = ("subscription Logs($i: GetRunLogsInput!) { ... on Subscription { getRunLogsV2(getRunLogsInput: $i) "
             "{ chunk endOffset } } }")

    async def read():
        transport = WebsocketsTransport(url=url, init_payload={"Authorization": "test-key"},
                                        subprotocols=["graphql-transport-ws"])
        request = gql(query)
        request.variable_values = {"i": {"name": run.name, "follow": False}}
        async with Client(transport=transport) as session:
            return [x async for x in session.subscribe(request)]

    with pytest.raises(Exception, match="no subscription"):
        asyncio.run(asyncio.wait_for(read(), 10))


def test_the_emulator_command_refuses_a_bad_lifecycle(tmp_path, capsys):
    from runrepo.emulator.cli import main

    assert main(["--state", str(tmp_path / "s.json"), "--lifecycle", "RUNNING@soon"]) == 2
    assert "bad lifecycle step 'RUNNING@soon': expected STATUS@SECONDS[:REASON]" in capsys.readouterr().err


def test_data_runs_follow_their_own_script(mcli, run_config, emulator):
    """runrepo's data runs (metadata runrepo_path under runs/data/) complete while training runs wait."""
    import json
    import urllib.request

    emulator.set_lifecycle("QUEUED@0.1")
    body = json.dumps({"steps": "RUNNING@0.1,COMPLETED@0.3", "data": True}).encode()
    request = urllib.request.Request(emulator.endpoint.replace("/graphql", "/_lifecycle"), body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["data"] is True
    data = mcli.create_run(run_config(name="data-x", metadata={"runrepo_path": "runs/data/x.yaml"}))
    training = mcli.create_run(run_config(name="train-x", metadata={"runrepo_path": "runs/experiments/x.yaml"}))
    done = _wait_for(lambda: (r := mcli.get_run(data.name)).status.value == "COMPLETED" and r)
    assert abs((done.completed_at - data.created_at).total_seconds() - 0.3) < 0.01
    assert mcli.get_run(training.name).status.value == "QUEUED"


def test_the_emulator_command_takes_a_data_lifecycle(tmp_path, capsys):
    from runrepo.emulator.cli import main

    assert main(["--state", str(tmp_path / "s.json"), "--data-lifecycle", "COMPLETED@later"]) == 2
    assert "bad lifecycle step 'COMPLETED@later'" in capsys.readouterr().err
