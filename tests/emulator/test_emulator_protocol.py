"""Schema coverage of mcli's own queries, GraphQL validation, auth and HTTP-level errors."""

from __future__ import annotations

import pytest
import requests
from graphql import parse, validate
from runrepo.emulator import running_emulator
from runrepo.emulator.resolvers import build


def _mcli_queries() -> dict[str, str]:
    from mcli.api.cluster import api_get_clusters
    from mcli.api.runs import (
        api_create_run,
        api_delete_runs,
        api_get_run_logs,
        api_get_runs,
        api_start_run,
        api_stop_runs,
        api_update_run,
        api_update_run_metadata,
    )
    from mcli.api.users import api_get_users

    return {
        "createRun": api_create_run.QUERY,
        "getRunsPaginated": api_get_runs.QUERY,
        "getRunsPaginated+details": api_get_runs.QUERY_WITH_DETAILS,
        "stopRuns": api_stop_runs.QUERY,
        "deleteRuns": api_delete_runs.QUERY,
        "startRuns": api_start_run.QUERY,
        "updateRun": api_update_run.QUERY,
        "updateRunMetadata": api_update_run_metadata.QUERY,
        "getClusters": api_get_clusters.QUERY,
        "getClusters+utilization": api_get_clusters.QUERY_UTILIZATION,
        "getAllUsers": api_get_users.QUERY,
        "getUsers": api_get_users.QUERY.replace("AllUsers", "Users"),  # what get_current_user sends
        "getRunLogsV2": api_get_run_logs.QUERY,  # a subscription, over the websocket
    }


@pytest.mark.parametrize("name", sorted(_mcli_queries()))
def test_every_supported_mcli_query_validates(name):
    errors = validate(build(), parse(_mcli_queries()[name]))
    assert errors == [], [e.message for e in errors]


def _post(emulator, body, key="test-key"):
    headers = {"Authorization": key} if key is not None else {}
    return requests.post(emulator.endpoint, json=body, headers=headers, timeout=5)


def test_unknown_field_is_rejected_by_validation(emulator):
    query = "query Q($d: GetClustersInput!) { getClusters(getClustersData: $d) { id name bogusField } }"
    resp = _post(emulator, {"query": query, "variables": {"d": {}}})
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert "bogusField" in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == 400
    assert "data" not in resp.json()


def test_variables_of_the_wrong_shape_are_rejected(emulator):
    from mcli.api.runs import api_get_runs

    variables = {"getRunsPaginatedData": {"filters": {"colour": {"in": ["red"]}}}}
    body = _post(emulator, {"query": api_get_runs.QUERY, "variables": variables}).json()
    assert body["data"] is None
    assert "colour" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == 400


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'{"query": 5}'])
def test_malformed_bodies_get_json_errors(emulator, raw):
    resp = requests.post(emulator.endpoint, data=raw, headers={"Authorization": "k"}, timeout=5)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["message"]


def test_syntax_error_is_reported_with_location(emulator):
    body = _post(emulator, {"query": "query { getClusters("}).json()
    assert "Syntax Error" in body["errors"][0]["message"]
    assert body["errors"][0]["locations"]


@pytest.mark.parametrize("key", [None, "", "bad-key", "Bearer bad-token"])
def test_missing_or_bad_key_is_refused(emulator, key):
    resp = _post(emulator, {"query": "query { __typename }"}, key=key)
    assert resp.status_code == 401
    error = resp.json()["errors"][0]
    assert error["extensions"]["code"] == 401
    assert "API key" in error["message"]


def test_accepted_keys_are_configurable(tmp_path):
    with running_emulator(tmp_path / "s.json", api_keys={"k1": "ada@example.com"}) as emu:
        assert _post(emu, {"query": "query { __typename }"}, key="k1").status_code == 200
        assert _post(emu, {"query": "query { __typename }"}, key="test-key").status_code == 401


def _create(emulator, run_input):
    from mcli.api.runs import api_create_run

    body = {"query": api_create_run.QUERY, "variables": {"createRunData": {"runInput": run_input}}}
    return _post(emulator, body).json()


GOOD_INPUT = {
    "runName": "ok-run",
    "image": "img:1",
    "command": "true",
    "compute": {"cluster": "r9z1", "gpus": 8},
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"image": ""}, "image is a required field"),
        ({"runName": "Bad_Name!"}, "runName 'Bad_Name!' is invalid"),
        ({"runName": "x" * 57}, "is invalid"),
        ({"compute": {"cluster": "r9z1", "gpus": -8}}, "compute.gpus must be a non-negative integer"),
        ({"compute": {"cluster": "r9z1", "gpus": 12}}, "cannot be split"),
        ({"compute": {"cluster": "nowhere", "gpus": 8}}, "Cluster 'nowhere' not found"),
        ({"compute": {"cluster": "r1z1", "gpuType": "h100_80gb", "gpus": 8}}, "offers gpu_type a100_40gb"),
        ({"compute": {"cluster": "r1z1", "gpus": 64}}, "has 32"),
        ({"scheduling": {"priority": "urgent"}}, "scheduling.priority"),
        ({"metadata": {f"k{i}": i for i in range(201)}}, "at most 200"),
        ({"surprise": 1}, "unknown field(s): surprise"),
    ],
)
def test_platform_side_validation(emulator, change, expected):
    body = _create(emulator, {**GOOD_INPUT, **change})
    assert body["data"] is None
    assert expected in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == 400
    assert emulator.runs() == []


def test_valid_raw_create_answers_a_list_with_suffixed_name(emulator):
    body = _create(emulator, GOOD_INPUT)
    [run] = body["data"]["createRun"]
    assert run["name"].startswith("ok-run-") and len(run["name"]) == len("ok-run-") + 6
    assert run["name"][-6:].isalnum() and run["name"][-6:] == run["name"][-6:].lower()
    assert run["resumptions"][0]["gpuType"] == "h100_80gb"
    assert run["details"]["originalRunInput"] == GOOD_INPUT


def test_internal_endpoints(emulator):
    _create(emulator, GOOD_INPUT)
    state = requests.get(emulator.endpoint.replace("/graphql", "/_state"), timeout=5).json()
    assert len(state["runs"]) == 1
    name = state["runs"][0]["name"]
    base = emulator.endpoint.replace("/graphql", "")
    moved = requests.post(f"{base}/_set_status", json={"name": name, "status": "running"}, timeout=5)
    assert moved.json()["status"] == "RUNNING"
    bad = requests.post(f"{base}/_faults", json={"rules": [{"kind": "teleport"}]}, timeout=5)
    assert bad.status_code == 400 and "fault kind" in bad.json()["errors"][0]["message"]
    ok = requests.post(f"{base}/_faults", json={"rules": [{"status": 503, "op": "getClusters"}]}, timeout=5)
    assert ok.json()["rules"][0]["operation"] == "getClusters"
    assert requests.get(f"{base}/_requests", timeout=5).json()[0]["operation"] == "createRun"
    assert requests.post(f"{base}/_reset", timeout=5).json() == {"ok": True}
    assert emulator.runs() == [] and emulator.faults()["rules"] == []
