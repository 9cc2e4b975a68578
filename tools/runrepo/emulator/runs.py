"""Run records: platform-side validation of createRun input, filters, pagination, transitions.

Records are stored with the camelCase keys of the GraphQL `Run` type, so graphql-core's
default resolver can serve them as they are; `seq`, `userId` and `organizationId` are
internal and never exposed by the schema.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
import uuid
from datetime import datetime, timezone
from typing import Any

from .catalog import GPUS_PER_NODE, ORGANIZATION, api_error, clusters, find_cluster

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NAME_LEN = 56  # the platform appends "-" and 6 characters; names stay within 63
SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "STOPPED"})
ALL_STATUSES = frozenset(
    {"PENDING", "QUEUED", "STARTING", "RUNNING", "TERMINATING", "COMPLETED", "STOPPED", "FAILED"}
)
PRIORITIES = frozenset({"auto", "low", "lowest"})
RUN_INPUT_FIELDS = frozenset({
    "runName", "parentName", "image", "command", "compute", "scheduling", "integrations",
    "envVariables", "parameters", "metadata", "dependentDeployment", "cpus",
    "cluster", "gpuType", "gpuNum",  # retired top-level fields mcli still sends for old configs
})
COMPUTE_FIELDS = frozenset({"cluster", "instance", "nodes", "nodeNames", "gpuType", "gpus", "cpus"})
SCHEDULING_FIELDS = frozenset(
    {"priority", "preemptible", "maxRetries", "retryOnSystemFailure", "maxDuration"}
)
METADATA_MAX_KEYS = 200
METADATA_MAX_KEY_LEN = 200
METADATA_MAX_VALUE_BYTES = 100_000
DEFAULT_PAGE = 100


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _bad(message: str) -> Exception:
    # "Bad run request" makes mcli raise its RunConfigException; "<field> is a required
    # field" is the phrase it rewrites into "missing the following required values".
    return api_error(f"Bad run request: {message}", 400)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_str(ri: dict[str, Any], key: str) -> str:
    value = ri.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _bad(f"{key} is a required field")
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string, got {type(value).__name__}")
    return value


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise _bad("metadata must be a mapping")
    if len(metadata) > METADATA_MAX_KEYS:
        raise _bad(f"metadata has {len(metadata)} keys; at most {METADATA_MAX_KEYS} are allowed")
    for key, value in metadata.items():
        if len(key) > METADATA_MAX_KEY_LEN:
            raise _bad(f"metadata key {key[:40]!r}... is longer than {METADATA_MAX_KEY_LEN} characters")
        if len(json.dumps(value)) > METADATA_MAX_VALUE_BYTES:
            raise _bad(f"metadata value for {key!r} is larger than 0.1 MB")
    return metadata


def _check_lists(ri: dict[str, Any]) -> None:
    env = ri.get("envVariables") or []
    if not isinstance(env, list):
        raise _bad("envVariables must be a list of {envKey, envValue}")
    for item in env:
        if not isinstance(item, dict) or not isinstance(item.get("envKey"), str):
            raise _bad("envVariables entries need a string envKey")
        if not ENV_KEY_RE.match(item["envKey"]):
            raise _bad(f"environment variable name {item['envKey']!r} is invalid")
        if not isinstance(item.get("envValue"), str):
            raise _bad(f"environment variable {item['envKey']} needs a string value")
    integrations = ri.get("integrations") or []
    if not isinstance(integrations, list):
        raise _bad("integrations must be a list")
    for item in integrations:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not item["type"]:
            raise _bad("each integration needs a type")
        if not isinstance(item.get("params", {}), dict):
            raise _bad(f"integration {item['type']} params must be a mapping")
    for key in ("parameters", "dependentDeployment"):
        if ri.get(key) is not None and not isinstance(ri[key], dict):
            raise _bad(f"{key} must be a mapping")


def _resolve_compute(ri: dict[str, Any]) -> dict[str, Any]:
    """Pick the cluster and GPU count the way the scheduler would, or refuse."""
    compute = ri.get("compute") or {}
    if not isinstance(compute, dict):
        raise _bad("compute must be a mapping")
    unknown = sorted(set(compute) - COMPUTE_FIELDS)
    if unknown:
        raise _bad(f"unknown compute field(s): {', '.join(unknown)}")
    compute = dict(compute)
    for legacy, modern in (("cluster", "cluster"), ("gpuType", "gpuType"), ("gpuNum", "gpus")):
        if ri.get(legacy) is not None and compute.get(modern) is None:
            compute[modern] = ri[legacy]
    names = [c["name"] for c in clusters()]
    cluster_name, gpu_type, instance = compute.get("cluster"), compute.get("gpuType"), compute.get("instance")
    if cluster_name is not None:
        cluster = find_cluster(str(cluster_name))
        if cluster is None:
            raise api_error(f"Cluster {cluster_name!r} not found; available: {', '.join(names)}", 400)
    else:
        cluster = next((c for c in clusters() if _instance_matches(c, gpu_type, instance)), None)
        if cluster is None:
            if gpu_type is None and instance is None:
                raise _bad(f"compute needs a cluster, instance or gpu_type (clusters: {', '.join(names)})")
            raise _bad(f"no cluster offers gpu_type={gpu_type!r} instance={instance!r}")
    inst = cluster["allowedInstances"][0]
    if not _instance_matches(cluster, gpu_type, instance):
        raise _bad(
            f"cluster {cluster['name']} offers gpu_type {inst['gpuType']} (instance {inst['name']}), "
            f"not gpu_type={gpu_type!r} instance={instance!r}"
        )
    gpus, nodes = compute.get("gpus"), compute.get("nodes")
    if gpus is not None and (not _is_int(gpus) or gpus < 0):
        raise _bad(f"compute.gpus must be a non-negative integer, got {gpus!r}")
    if nodes is not None and (not _is_int(nodes) or nodes < 1):
        raise _bad(f"compute.nodes must be a positive integer, got {nodes!r}")
    if gpus is None:
        if nodes is None:
            raise _bad("gpus is a required field")
        gpus = nodes * GPUS_PER_NODE
    if gpus > GPUS_PER_NODE and gpus % GPUS_PER_NODE:
        raise _bad(f"{gpus} GPUs cannot be split into whole {GPUS_PER_NODE}-GPU nodes")
    needed = max(1, -(-gpus // GPUS_PER_NODE))
    if nodes is not None and nodes != needed:
        raise _bad(f"compute.nodes={nodes} does not match compute.gpus={gpus} ({GPUS_PER_NODE} per node)")
    total = inst["numNodes"] * GPUS_PER_NODE
    if gpus > total:
        raise _bad(f"requested {gpus} GPUs but cluster {cluster['name']} has {total}")
    cpus = compute.get("cpus", ri.get("cpus")) or 0
    if not _is_int(cpus) or cpus < 0:
        raise _bad(f"compute.cpus must be a non-negative integer, got {cpus!r}")
    node_names = compute.get("nodeNames") or []
    known = {n["name"] for n in inst["nodes"]}
    if not isinstance(node_names, list) or any(n not in known for n in node_names):
        raise _bad(f"compute.nodeNames must name nodes of cluster {cluster['name']}")
    return {"clusterName": cluster["name"], "gpuType": inst["gpuType"], "gpus": gpus,
            "nodes": needed, "cpus": cpus}


def _instance_matches(cluster: dict[str, Any], gpu_type: Any, instance: Any) -> bool:
    inst = cluster["allowedInstances"][0]
    return (gpu_type in (None, inst["gpuType"])) and (instance in (None, inst["name"]))


def _resolve_scheduling(ri: dict[str, Any]) -> dict[str, Any]:
    sched = ri.get("scheduling") or {}
    if not isinstance(sched, dict):
        raise _bad("scheduling must be a mapping")
    unknown = sorted(set(sched) - SCHEDULING_FIELDS - {"priorityInt"})
    if unknown:
        raise _bad(f"unknown scheduling field(s): {', '.join(unknown)}")
    priority = sched.get("priority") or "auto"
    if priority not in PRIORITIES:
        raise _bad(f"scheduling.priority must be one of {', '.join(sorted(PRIORITIES))}, got {priority!r}")
    retries = sched.get("maxRetries", 0)
    if retries is None:
        retries = 0
    if not _is_int(retries) or retries < 0:
        raise _bad(f"scheduling.maxRetries must be a non-negative integer, got {retries!r}")
    duration = sched.get("maxDuration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                 or duration <= 0):
        raise _bad(f"scheduling.maxDuration must be a positive number of hours, got {duration!r}")
    return {
        "priority": priority,
        "maxRetries": retries,
        "preemptible": bool(sched.get("preemptible", False)),
        "retryOnSystemFailure": bool(sched.get("retryOnSystemFailure", False)),
        "maxDurationSeconds": int(duration * 3600) if duration is not None else None,
    }


def create_run(state: dict[str, Any], run_input: Any, user: dict[str, Any]) -> dict[str, Any]:
    """Validate `run_input` like MAPI does, then store and return the new run record."""
    if not isinstance(run_input, dict):
        raise _bad("runInput must be an object")
    unknown = sorted(set(run_input) - RUN_INPUT_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s): {', '.join(unknown)}")
    name = _require_str(run_input, "runName")
    if len(name) > MAX_NAME_LEN or not NAME_RE.match(name):
        raise _bad(
            f"runName {name!r} is invalid: use at most {MAX_NAME_LEN} lowercase letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    image = _require_str(run_input, "image")
    _require_str(run_input, "command")
    _check_lists(run_input)
    metadata = _check_metadata(run_input.get("metadata"))
    resumption = _resolve_compute(run_input)
    scheduling = _resolve_scheduling(run_input)
    taken = {r["name"] for r in state["runs"]}
    full_name = _unique_name(name, taken)
    now = now_iso()
    state["seq"] += 1
    execution_id = str(uuid.uuid4())
    record = {
        "id": str(uuid.uuid4()),
        "seq": state["seq"],
        "name": full_name,
        "createdByEmail": user["email"],
        "userId": user["id"],
        "organizationId": ORGANIZATION["id"],
        "status": "PENDING",
        "createdAt": now,
        "updatedAt": now,
        "reason": None,
        **scheduling,
        "isDeleted": False,
        "deletedAt": None,
        "runType": "TRAINING",
        "resumptions": [{
            **resumption, "executionIndex": 0, "startTime": None, "endTime": None,
            "status": "PENDING", "estimatedEndTime": None, "reason": None,
        }],
        "details": {
            "image": image,
            "originalRunInput": run_input,
            "metadata": metadata,
            "lastExecutionId": execution_id,
            "lifecycle": [{"executionIndex": 0, "status": "PENDING", "startTime": now,
                           "endTime": None, "reason": None}],
            "nodes": [],
            "formattedRunEvents": [{"resumptionIndex": 0, "eventType": "CREATED", "eventTime": now,
                                    "eventMessage": "Run created"}],
        },
    }
    state["runs"].append(record)
    return record


def _unique_name(base: str, taken: set[str]) -> str:
    while True:
        candidate = f"{base}-{''.join(secrets.choice(SUFFIX_ALPHABET) for _ in range(6))}"
        if candidate not in taken:
            return candidate


def set_status(run: dict[str, Any], status: str, reason: str | None = None, at: str | None = None) -> None:
    """Move a run (its latest resumption and lifecycle) to `status`, now or at the scripted time `at`."""
    if status not in ALL_STATUSES:
        raise api_error(f"unknown run status {status!r}", 400)
    now = at or now_iso()
    res = run["resumptions"][-1]
    lifecycle = run["details"]["lifecycle"]
    if lifecycle and lifecycle[-1]["endTime"] is None:
        lifecycle[-1]["endTime"] = now
    lifecycle.append({"executionIndex": res["executionIndex"], "status": status, "startTime": now,
                      "endTime": now if status in TERMINAL_STATUSES else None, "reason": reason})
    if status == "RUNNING" and res["startTime"] is None:
        res["startTime"] = now
    if status in TERMINAL_STATUSES:
        res["endTime"] = now
    res["status"] = status
    res["reason"] = reason
    run["status"] = status
    run["reason"] = reason
    run["updatedAt"] = now


def restart(run: dict[str, Any]) -> None:
    if run["status"] not in TERMINAL_STATUSES:
        raise api_error(f"Run {run['name']} is {run['status']}; only stopped or finished runs can start", 400)
    last = run["resumptions"][-1]
    execution_id = str(uuid.uuid4())
    run["resumptions"].append({**last, "executionIndex": last["executionIndex"] + 1, "startTime": None,
                               "endTime": None, "reason": None})
    run["details"]["lastExecutionId"] = execution_id
    set_status(run, "PENDING")


def _order(run: dict[str, Any]) -> tuple[str, int]:
    """Newest first by creation time (ISO-8601 UTC strings sort as times), then by insertion."""
    return (run["createdAt"], run["seq"])


def encode_cursor(run: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"at:{run['createdAt']}|{run['seq']}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "at":
            when, _, seq = value.rpartition("|")
            return when, int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise api_error(f"Invalid cursor {cursor!r}", 400)


def paginate(runs: list[dict[str, Any]], limit: int | None, cursor: str | None) -> dict[str, Any]:
    """Newest first; the cursor marks the last run already returned."""
    if limit is None:
        limit = DEFAULT_PAGE
    if limit < 1:
        raise api_error(f"limit must be positive, got {limit}", 400)
    ordered = sorted(runs, key=_order, reverse=True)
    if cursor:
        after = decode_cursor(cursor)
        ordered = [r for r in ordered if _order(r) < after]
    page = ordered[:limit]
    return {
        "runs": page,
        "hasNextPage": len(ordered) > limit,
        "cursor": encode_cursor(page[-1]) if page else None,
    }
