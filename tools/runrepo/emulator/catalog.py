"""Fixed platform facts: the organisation, its users and its clusters."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from graphql import GraphQLError

GPUS_PER_NODE = 8
ORGANIZATION = {"id": "org-emulator", "name": "Emulator Org", "isDatabricksInternal": False}

# (cluster, gpu type, instance name, node count): one instance type per cluster.
_CLUSTERS = (
    ("r1z1", "a100_40gb", "oci.bm.gpu.b4.8", 4),
    ("r7z2", "a100_80gb", "oci.bm.gpu.a100-v2.8", 8),
    ("r9z1", "h100_80gb", "oci.bm.gpu.h100.8", 16),
)

ACTIVE_STATUSES = frozenset({"STARTING", "RUNNING", "TERMINATING"})
QUEUED_STATUSES = frozenset({"PENDING", "QUEUED"})


def api_error(message: str, code: int = 400) -> GraphQLError:
    """A GraphQL error as MAPI sends it: mcli reads `extensions.code` as an HTTP status."""
    return GraphQLError(message, extensions={"code": code})


def user_for_email(email: str) -> dict[str, Any]:
    digest = hashlib.sha1(email.encode()).hexdigest()[:12]
    return {
        "id": f"user-{digest}",
        "name": email.split("@", 1)[0],
        "email": email,
        "organizations": [dict(ORGANIZATION)],
    }


def email_for_key(api_key: str) -> str:
    """Derive a stable user email from an API key when no explicit mapping is given."""
    local = re.sub(r"[^a-z0-9._-]+", "-", api_key.lower()).strip("-.") or "user"
    return f"{local[:40]}@example.com"


def _instance(gpu_type: str, instance: str, nodes: int, cluster: str) -> dict[str, Any]:
    return {
        "name": instance,
        "gpuType": gpu_type,
        "gpusPerNode": GPUS_PER_NODE,
        "cpus": 128,
        "memory": "2Ti",
        "storage": "30Ti",
        "gpuNums": [1, 2, 4, 8],
        "numNodes": nodes,
        "nodes": [
            {
                "name": f"{cluster}-node-{i:02d}",
                "isAlive": True,
                "isSchedulable": True,
                "upTime": {"startDate": "2024-01-01T00:00:00Z", "endDate": None},
            }
            for i in range(nodes)
        ],
    }


def clusters() -> list[dict[str, Any]]:
    return [
        {
            "id": f"clus-{name}",
            "name": name,
            "provider": "MOSAICML_COLO",
            "allowFractional": True,
            "allowMultinode": True,
            "allowedSubmissionTypes": ["TRAINING"],
            "isMultiTenant": False,
            "reservationType": None,
            "schedulerEnabled": True,
            "allowedInstances": [_instance(gpu, inst, nodes, name)],
        }
        for name, gpu, inst, nodes in _CLUSTERS
    ]


def find_cluster(name: str) -> dict[str, Any] | None:
    return next((c for c in clusters() if c["name"] == name), None)


def utilization(cluster: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-cluster load computed from the stored runs (what `mcli util` shows)."""
    inst = cluster["allowedInstances"][0]
    active, queued = [], []
    for run in runs:
        res = run["resumptions"][-1]
        if run.get("isDeleted") or res["clusterName"] != cluster["name"]:
            continue
        entry = {
            "id": run["id"],
            "createdAt": run["createdAt"],
            "userName": run["createdByEmail"],
            "runName": run["name"],
            "instance": inst["name"],
            "gpuNum": res["gpus"],
            "gpuType": res["gpuType"],
            "estimatedEndTime": None,
            "maxDurationSeconds": run.get("maxDurationSeconds"),
            "startTime": res.get("startTime"),
            "reason": run.get("reason"),
            "scheduling": {
                "priority": run["priority"],
                "retryOnSystemFailure": run["retryOnSystemFailure"],
                "preemptible": run["preemptible"],
            },
        }
        if run["status"] in ACTIVE_STATUSES:
            active.append(entry)
        elif run["status"] in QUEUED_STATUSES:
            queued.append(entry)
    total = inst["numNodes"] * inst["gpusPerNode"]
    used = min(total, sum(e["gpuNum"] for e in active))
    return {
        "instanceUtils": [
            {
                "instance": inst,
                "clusterId": cluster["id"],
                "gpusUsed": used,
                "gpusAvailable": total - used,
                "gpusTotal": total,
            }
        ],
        "activeRunsByUser": active,
        "queuedRunsByUser": queued,
        "activeDeploymentsByUser": [],
        "queuedDeploymentsByUser": [],
    }
