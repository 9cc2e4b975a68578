"""The GraphQL schema (schema.graphql) bound to resolvers over the state file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from typing import Any

from graphql import GraphQLSchema, build_schema

from . import catalog, lifecycle, runs
from .catalog import api_error
from .state import StateStore


@dataclass
class Context:
    """Per-request context: who is asking, and where state lives."""

    store: StateStore
    user: dict[str, Any]
    lifecycle: list[dict[str, Any]] | None = None  # the script every new run follows (lifecycle.py)
    data_lifecycle: list[dict[str, Any]] | None = None  # ... and runrepo's data runs, when set


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise api_error(f"Invalid date {value!r}: expected ISO 8601", 400) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _match_strings(value: Any, flt: dict[str, Any] | None, upper: bool = False) -> bool:
    if not flt:
        return True

    def norm(v: Any) -> Any:
        return v.upper() if upper and isinstance(v, str) else v

    value = norm(value)
    if flt.get("in") is not None and value not in {norm(v) for v in flt["in"]}:
        return False
    if flt.get("notIn") is not None and value in {norm(v) for v in flt["notIn"]}:
        return False
    return flt.get("equals") is None or value == norm(flt["equals"])


def _match_time(value: str | None, flt: dict[str, Any] | None) -> bool:
    if not flt:
        return True
    if value is None:
        return False
    t = _parse_time(value)
    checks: dict[str, Callable[[datetime, datetime], bool]] = {
        "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
        "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    }
    return all(op(t, _parse_time(flt[key])) for key, op in checks.items() if flt.get(key))


def _visible(run: dict[str, Any], user: dict[str, Any], entity: dict[str, Any] | None) -> bool:
    """Without an entity the platform scopes to the caller; emails/userIds/orgs widen it."""
    entity = entity or {}
    orgs, emails, user_ids = entity.get("organizationIds"), entity.get("emails"), entity.get("userIds")
    if orgs and run["organizationId"] not in orgs:
        return False
    if emails:
        return run["createdByEmail"] in emails
    if user_ids:
        return run["userId"] in user_ids
    return bool(orgs) or run["createdByEmail"] == user["email"]


def select_runs(state: dict[str, Any], user: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    filters = data.get("filters") or {}
    include_deleted = bool(data.get("includeDeleted"))
    selected = []
    for run in state["runs"]:
        res = run["resumptions"][-1]
        if run.get("isDeleted") and not include_deleted:
            continue
        if not (_visible(run, user, data.get("entity"))
                and _match_strings(run["name"], filters.get("name"))
                and _match_strings(run["status"], filters.get("status"), upper=True)
                and _match_strings(res["clusterName"], filters.get("clusterName"))
                and _match_strings(res["gpuType"], filters.get("gpuType"))
                and _match_strings(res["gpus"], filters.get("gpuNum"))
                and _match_strings(run["runType"], filters.get("runType"), upper=True)
                and _match_time(run["createdAt"], filters.get("createdAt"))
                and _match_time(res["endTime"], filters.get("endedAt"))):
            continue
        selected.append(run)
    return selected


def _get_runs_paginated(_root: Any, info: Any, getRunsPaginatedData: dict[str, Any]) -> dict[str, Any]:
    ctx: Context = info.context
    data = getRunsPaginatedData
    found = select_runs(lifecycle.refresh(ctx.store), ctx.user, data)
    return runs.paginate(found, data.get("limit"), data.get("cursor"))


def _create_run(_root: Any, info: Any, createRunData: dict[str, Any]) -> list[dict[str, Any]]:
    ctx: Context = info.context
    with ctx.store.transaction() as state:
        run = runs.create_run(state, createRunData.get("runInput"), ctx.user)
        steps = lifecycle.script_for(run, ctx.lifecycle, ctx.data_lifecycle)
        if steps:
            lifecycle.attach(run, steps, lifecycle.parse_time(run["createdAt"]))
        return [run]


def _mutate(action: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[..., list[dict[str, Any]]]:
    """Resolver applying `action(run, kwargs)` to every run the getRunsData filters select."""

    def resolve(_root: Any, info: Any, getRunsData: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        ctx: Context = info.context
        with ctx.store.transaction() as state:
            lifecycle.advance_all(state["runs"])
            found = select_runs(state, ctx.user, getRunsData)
            for run in found:
                action(run, kwargs)
        return found

    return resolve


def _stop(run: dict[str, Any], kwargs: dict[str, Any]) -> None:
    if run["status"] not in runs.TERMINAL_STATUSES:
        reason = (kwargs.get("stopRunsData") or {}).get("reason") or "Stopped by user"
        lifecycle.transition(run, "STOPPED", reason)


def _delete(run: dict[str, Any], _kwargs: dict[str, Any]) -> None:
    # Soft delete: the record stays so includeDeleted lookups still find it.
    if run["status"] not in runs.TERMINAL_STATUSES:
        lifecycle.transition(run, "STOPPED", "Run deleted")
    run["isDeleted"] = True
    run["deletedAt"] = run["updatedAt"] = runs.now_iso()


def _start(run: dict[str, Any], _kwargs: dict[str, Any]) -> None:
    runs.restart(run)
    run["details"]["nodes"] = []  # the new resumption gets its nodes when it runs


def _update(run: dict[str, Any], kwargs: dict[str, Any]) -> None:
    data = kwargs["updateRunData"]
    if data.get("priority") is not None and data["priority"] not in runs.PRIORITIES:
        raise api_error(f"priority must be one of {', '.join(sorted(runs.PRIORITIES))}", 400)
    for key in ("preemptible", "priority", "maxRetries", "retryOnSystemFailure", "maxDurationSeconds"):
        if data.get(key) is not None:
            run[key] = data[key]
    run["updatedAt"] = runs.now_iso()


def _update_metadata(run: dict[str, Any], kwargs: dict[str, Any]) -> None:
    metadata = kwargs["updateRunMetadataData"]["metadata"]
    if not isinstance(metadata, dict):
        raise api_error("metadata must be an object", 400)
    run["details"]["metadata"] = {**(run["details"].get("metadata") or {}), **metadata}
    run["updatedAt"] = runs.now_iso()


def _get_clusters(_root: Any, info: Any, getClustersData: dict[str, Any]) -> list[dict[str, Any]]:
    ctx: Context = info.context
    filters = getClustersData.get("filters") or {}
    wanted_type = (filters.get("allowedSubmissionTypes") or {}).get("has")
    with ctx.store.transaction(write=False) as state:
        all_runs = state["runs"]
    found = []
    for cluster in catalog.clusters():
        if not _match_strings(cluster["name"], filters.get("name")):
            continue
        if wanted_type and wanted_type not in cluster["allowedSubmissionTypes"]:
            continue
        found.append({**cluster, "utilization": catalog.utilization(cluster, all_runs)})
    return found


def _known_users(ctx: Context, state: dict[str, Any]) -> list[dict[str, Any]]:
    emails = {ctx.user["email"], *(r["createdByEmail"] for r in state["runs"])}
    return [catalog.user_for_email(e) for e in sorted(emails)]


def _get_users(_root: Any, info: Any, getUsersData: dict[str, Any]) -> list[dict[str, Any]]:
    # getUsers without filters answers the caller, which is how mcli finds its own org.
    ctx: Context = info.context
    filters = getUsersData.get("filters") or {}
    if not filters:
        return [ctx.user]
    return _get_all_users(_root, info, getUsersData)


def _get_all_users(_root: Any, info: Any, getAllUsersData: dict[str, Any]) -> list[dict[str, Any]]:
    ctx: Context = info.context
    filters = getAllUsersData.get("filters") or {}
    with ctx.store.transaction(write=False) as state:
        users = _known_users(ctx, state)
    return [u for u in users if _match_strings(u["id"], filters.get("id"))
            and _match_strings(u["email"], filters.get("email"))]


def load_sdl() -> str:
    return resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")


def build() -> GraphQLSchema:
    schema = build_schema(load_sdl())
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None  # both are declared in schema.graphql
    query.fields["getRunsPaginated"].resolve = _get_runs_paginated
    query.fields["getClusters"].resolve = _get_clusters
    query.fields["getUsers"].resolve = _get_users
    query.fields["getAllUsers"].resolve = _get_all_users
    mutation.fields["createRun"].resolve = _create_run
    mutation.fields["stopRuns"].resolve = _mutate(_stop)
    mutation.fields["deleteRuns"].resolve = _mutate(_delete)
    mutation.fields["startRuns"].resolve = _mutate(_start)
    mutation.fields["updateRun"].resolve = _mutate(_update)
    mutation.fields["updateRunMetadata"].resolve = _mutate(_update_metadata)
    return schema
