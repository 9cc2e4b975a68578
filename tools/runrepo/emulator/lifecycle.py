"""Runs that move on a script: status transitions at set times, nodes, and per-node logs.

The platform's scheduler moves a run on its own (PENDING -> QUEUED -> STARTING -> RUNNING ->
COMPLETED | FAILED); the emulator does it on a script, so a test can say "this run starts in 1 s
and fails at 3 s with OOMKilled". A run's script is kept in its record (`schedule`, internal: the
GraphQL schema never serves it). Every request applies the steps that are due, each with its own
scripted time, so startTime, endTime and the lifecycle hold the scripted times whenever they are read.

Logs live in the record too (`logs`: resumption index -> node rank -> text): each transition of a
started run writes a line per node, a step may carry lines of its own, and the harness can append.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .catalog import GPUS_PER_NODE, api_error
from .runs import ALL_STATUSES, TERMINAL_STATUSES, now_iso, set_status

DATA_RUN_PATH = "runs/data/"  # runrepo's data runs (metadata runrepo_path): they may follow a script of their own
STEP_RE = re.compile(r"^([A-Za-z]+)@([0-9]+(?:\.[0-9]+)?)(?::(.*))?$")
STEP_KEYS = frozenset({"status", "after", "at", "reason", "logs"})


class LifecycleError(ValueError):
    """A schedule that cannot be understood."""


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


Steps = str | list[dict[str, Any]]  # `STATUS@SECONDS[:REASON],...`, or the step objects


def parse_steps(spec: Steps | None) -> list[dict[str, Any]]:
    """`QUEUED@0.5,RUNNING@1,FAILED@3:OOMKilled` (seconds after the origin) or a list of step objects:
    {"status"?, "after" | "at", "reason"?, "logs"?: text for every node | {rank: text}}."""
    if not spec:
        return []
    if isinstance(spec, str):
        steps = []
        for token in (t.strip() for t in spec.split(",")):
            m = STEP_RE.match(token)
            if not m:
                raise LifecycleError(f"bad lifecycle step {token!r}: expected STATUS@SECONDS[:REASON]")
            steps.append({"status": m[1], "after": float(m[2]), "reason": m[3] or None})
        spec = steps
    if not isinstance(spec, list):
        raise LifecycleError("a schedule is a list of steps")
    return [_check(step) for step in spec]


def _check(step: Any) -> dict[str, Any]:
    if not isinstance(step, dict):
        raise LifecycleError(f"a schedule step must be an object, got {step!r}")
    unknown = sorted(set(step) - STEP_KEYS)
    if unknown:
        raise LifecycleError(f"unknown schedule step key(s): {', '.join(unknown)}")
    status = step.get("status")
    if status is not None:
        status = str(status).upper()
        if status not in ALL_STATUSES:
            raise LifecycleError(f"unknown run status {status!r}; one of {', '.join(sorted(ALL_STATUSES))}")
    if ("after" in step) == ("at" in step):
        raise LifecycleError("a schedule step needs exactly one of `after` (seconds) and `at` (ISO time)")
    out = {"status": status, "reason": step.get("reason"), "logs": _logs(step.get("logs"))}
    if "at" in step:
        try:
            when = datetime.fromisoformat(str(step["at"]).replace("Z", "+00:00"))
        except ValueError:
            raise LifecycleError(f"bad step time {step['at']!r}: expected ISO 8601") from None
        out["at"] = iso(when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    else:
        after = step["after"]
        if isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0:
            raise LifecycleError(f"`after` must be a non-negative number of seconds, got {after!r}")
        out["after"] = float(after)
    return out


def _logs(value: Any) -> dict[str, str] | str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(int(k)): v for k, v in value.items()}
    raise LifecycleError("step logs are text (every node) or {node rank: text}")


def attach(run: dict[str, Any], steps: list[dict[str, Any]], origin: datetime | None = None) -> None:
    """Give `run` these steps (times relative to `origin`, default now), after any it still has."""
    origin = origin or datetime.now(timezone.utc)
    timed = [{**{k: v for k, v in s.items() if k != "after"},
              "at": s.get("at") or iso(origin + timedelta(seconds=s["after"]))} for s in steps]
    run["schedule"] = sorted((run.get("schedule") or []) + timed, key=lambda s: s["at"])


def script_for(run: dict[str, Any], every: list[dict[str, Any]] | None,
               data: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The script a new run follows: the data-run script for runrepo's data runs when one is set, else
    the script of every run."""
    path = str(((run.get("details") or {}).get("metadata") or {}).get("runrepo_path") or "")
    return list(data) if data and path.startswith(DATA_RUN_PATH) else list(every or [])


def due(run: dict[str, Any], now: str) -> bool:
    schedule = run.get("schedule")
    if not schedule:
        return False
    return bool(schedule[0]["at"] <= now)


def advance(run: dict[str, Any], now: str | None = None) -> bool:
    """Apply the due steps of `run`, each at its scripted time; True when anything changed."""
    now = now or now_iso()
    changed = False
    while due(run, now):
        step = run["schedule"].pop(0)
        if step["status"] and run["status"] in TERMINAL_STATUSES:
            run["schedule"] = []  # stopped or finished meanwhile: the script is over
            break
        if step["status"]:
            transition(run, step["status"], step["reason"], step["at"])
        if step["logs"]:
            for rank in _ranks(run):
                text = step["logs"] if isinstance(step["logs"], str) else step["logs"].get(str(rank))
                if text:
                    append_log(run, text, rank)
        changed = True
    return changed


def advance_all(runs: list[dict[str, Any]], now: str | None = None) -> bool:
    now = now or now_iso()
    return any([advance(r, now) for r in runs if due(r, now)])  # a list: advance every run, not the first


def transition(run: dict[str, Any], status: str, reason: str | None = None, at: str | None = None) -> None:
    """Move the run, as the platform's scheduler would: status, nodes, and a log line per node."""
    at = at or now_iso()
    set_status(run, status, reason, at)
    res = run["resumptions"][-1]
    if status == "RUNNING" and not run["details"].get("nodes"):
        run["details"]["nodes"] = [{"rank": i, "name": f"{res['clusterName']}-node-{i:02d}", "status": "RUNNING",
                                    "reason": None} for i in range(res["nodes"])]
        per_node = min(res["gpus"], GPUS_PER_NODE)
        for i in _ranks(run):
            append_log(run, f"{at} [node {i}] {run['name']}: RUNNING on {res['clusterName']} "
                            f"({per_node} GPUs)\n", i)
    elif status in TERMINAL_STATUSES:
        for node in run["details"].get("nodes") or []:
            node["status"], node["reason"] = status, reason
        if res.get("startTime"):
            for i in _ranks(run):
                append_log(run, f"{at} [node {i}] {status}" + (f": {reason}" if reason else "") + "\n", i)
    if status in TERMINAL_STATUSES:
        run["schedule"] = []


def _ranks(run: dict[str, Any]) -> range:
    return range(int(run["resumptions"][-1].get("nodes") or 1))


def append_log(run: dict[str, Any], text: str, rank: int = 0, attempt: int | None = None) -> None:
    if attempt is None:
        attempt = run["resumptions"][-1]["executionIndex"]
    if not 0 <= rank < max(1, len(_ranks(run))):
        raise api_error(f"run {run['name']} has no node rank {rank}", 400)
    logs = run.setdefault("logs", {}).setdefault(str(attempt), {})
    logs[str(rank)] = logs.get(str(rank), "") + text


def refresh(store: Any) -> dict[str, Any]:
    """The state of a StateStore with every due step applied (written back only when one was due)."""
    state: dict[str, Any] = store.read()
    if advance_all(state["runs"]):
        with store.transaction() as state:
            advance_all(state["runs"])
    return state
