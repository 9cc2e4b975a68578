"""The platform as runrepo sees it: mcli's SDK (RunConfig, create_run, get_runs, delete_runs) and nothing else.

mcli is imported lazily: `runrepo check` and `--dry-run` never pay for it (about a second).

mcli's own retry is switched off while a submission runs. Its request functions are wrapped at import
time in backoff(max_tries=10, max_value=60), so MAX_RETRIES/MAX_INTERVAL cannot be changed afterwards;
but its give-up predicate reads `mcli.api.engine.retry.RETRY_EXCEPTIONS` on every failure, so emptying
that set (and restoring it afterwards) makes every request a single try. That matters because the
retry is blind: a createRun whose answer was lost (a gateway's 502 after the run was stored) is sent
again and the platform then holds two runs. runrepo retries itself, bounded, and looks up a run's
identity before it ever sends a create again (engine.py). `timeout=` on an SDK call only bounds how
long we wait for the answer; the request goes on in mcli's worker thread, so those threads are daemons
here (a hung endpoint cannot keep the process alive), an unanswered create counts as "maybe stored",
and `settle()` lets such creates finish before duplicates are looked for.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import math
import queue
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

TRANSIENT = frozenset({429, 500, 502, 503, 504})
# The only states in which a copy may be deleted automatically: it has not started, so deleting
# it loses no work. A duplicate in any other state is reported for a person to decide.
NOT_STARTED = frozenset({"PENDING", "QUEUED"})
# States in which a run holds or waits for GPUs: what stop-on-delete may stop (lifecycle/).
LIVE = frozenset({"PENDING", "QUEUED", "STARTING", "RUNNING"})


class PlatformError(Exception):
    """One failed platform call, in words a person can act on.

    kind: auth | unreachable | timeout | transient | refused (the platform said no to this input) | config
    | no-answer (a probe that timed out: not retried)
    """

    def __init__(self, kind: str, message: str, status: int = 0):
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status

    @property
    def transient(self) -> bool:
        """Worth another try; for a create, the run may or may not have been stored."""
        return self.kind in ("unreachable", "timeout", "transient")

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Repository:
    """Which repository a run came from: GitHub's repository id when known (it survives a rename),
    else its name (`owner/name`, as $GITHUB_REPOSITORY spells it)."""

    name: str
    id: str = ""

    def metadata(self) -> dict[str, str]:
        return {"repository": self.name, "repository_id": self.id}

    def owns(self, run: PlatformRun) -> bool | None:
        """True: submitted from this repository. False: from another one (never touched).
        None: recorded without a repository (before runrepo kept one): it counts as present, so
        nothing is submitted twice, but is never deleted."""
        if not run.repository and not run.repository_id:
            return None
        if self.id and run.repository_id:
            return self.id == run.repository_id
        return bool(self.name) and self.name == run.repository


@dataclass
class PlatformRun:
    """A platform run, reduced to what submission needs; identity comes from runrepo's metadata."""

    name: str
    uid: str
    created_at: datetime
    deleted: bool
    status: str
    cluster: str
    gpus: int
    path: str = ""
    digest: str = ""
    commit: str = ""
    base: str = ""
    repository: str = ""
    repository_id: str = ""
    dataset: str = ""  # a data run: what its dataset is built from (runrepo_dataset): what training runs wait for
    # What `runrepo status` shows (mcli's Run: first start, last end, latest reason, GPU-hours so far)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str = ""
    max_duration: float | None = None  # hours
    gpu_hours: float = 0.0
    nodes: int = 0

    @property
    def identity(self) -> tuple[str, str]:
        return (self.path, self.digest)

    @property
    def live(self) -> bool:
        """Holds or waits for GPUs."""
        return not self.deleted and self.status.upper() in LIVE

    @property
    def started(self) -> bool:
        """It has (or may have) started work: never deleted automatically."""
        return self.status.upper() not in NOT_STARTED

    @property
    def order(self) -> tuple:
        """Every submitter agrees on which copy of an identity is kept: the earliest, then the lowest id."""
        return (self.created_at, self.uid)


def classify(exc: BaseException, endpoint: str = "") -> PlatformError:
    """Any exception from an SDK call -> PlatformError (never a traceback for the user)."""
    if isinstance(exc, PlatformError):
        return exc
    if isinstance(exc, cf.TimeoutError | TimeoutError):
        return PlatformError("timeout", f"no answer from {endpoint or 'the platform'} in time")
    from mcli.api.exceptions import MAPIException, MCLIConfigError, MCLIRunConfigValidationError

    if isinstance(exc, MCLIConfigError):
        return PlatformError("config", f"mcli is not configured: {exc} (set MOSAICML_API_KEY)")
    if isinstance(exc, MCLIRunConfigValidationError):
        return PlatformError("refused", f"mcli refused the run: {exc}")
    if isinstance(exc, MAPIException):
        status = int(exc.status)
        errors = getattr(exc, "errors", None) or [exc]
        text = "; ".join(str(e.message or e) for e in errors)
        if status == 401:
            return PlatformError("auth", f"the API key was rejected by {endpoint} (401): {text}", status)
        if status == 403:
            return PlatformError("auth", f"the API key may not do this (403): {text}", status)
        if status == 503 and "Unable to connect" in text:
            return PlatformError("unreachable", f"cannot reach {endpoint}: {text}", status)
        if status in TRANSIENT:
            return PlatformError("transient", f"platform error {status}: {text}", status)
        return PlatformError("refused", f"platform refused it ({status}): {text}", status)
    import requests

    if isinstance(exc, requests.RequestException):
        return PlatformError("unreachable", f"connection to {endpoint} failed: {type(exc).__name__}: {exc}")
    return PlatformError("transient", f"{type(exc).__name__}: {exc}")


def non_finite(value, path: str = "") -> tuple[str, str] | None:
    """(dotted path, value) of the first NaN or ±Infinity in a run, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(top level)", repr(value)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = non_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


class _DaemonPool(cf.Executor):
    """mcli sends every request through its connection's pool; daemon workers never hold up exit."""

    def __init__(self, workers: int):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._max = workers
        self._waiting = 0  # workers blocked on the queue, ready for a job
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        self._jobs.put((future, fn, args, kwargs))
        with self._lock:  # a racing worker may make one thread too many: harmless
            if self._waiting == 0 and len(self._threads) < self._max:
                t = threading.Thread(target=self._work, name="runrepo-mapi", daemon=True)
                self._threads.append(t)
                t.start()
        return future

    def grow(self, workers: int) -> None:
        with self._lock:
            self._max = max(self._max, workers)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            future, fn, args, kwargs = self._jobs.get()
            with self._lock:
                self._waiting -= 1
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as e:  # noqa: BLE001 (handed to the waiting caller)
                    future.set_exception(e)


# Shared by every session and Platform of the process: threads are made on demand and then reused.
_MCLI_POOL = _DaemonPool(64)  # mcli's requests
_AUX_POOL = _DaemonPool(64)  # our waits on calls that have no timeout of their own
_session_lock = threading.Lock()
_session: dict = {"depth": 0}


def _once(fn):
    """fn() remembered after its first success (failures are not remembered)."""
    box: list = []

    def call(*args, **kwargs):
        if not box:
            box.append(fn(*args, **kwargs))
        return box[0]

    return call


@contextmanager
def mcli_session(workers: int = 16):
    """mcli configured for runrepo: its blind retry off, "who am I" asked once, our daemon pool
    installed. Re-entrant.

    These are process-wide mcli settings, so nested or concurrent sessions share the first one's
    connection (same endpoint and key; use separate processes for different ones).
    """
    from mcli.api.engine import retry
    from mcli.api.engine.engine import MAPIConnection
    from mcli.api.runs import api_get_runs

    with _session_lock:
        if _session["depth"] == 0:
            _session["retry"] = retry.RETRY_EXCEPTIONS
            retry.RETRY_EXCEPTIONS = set()
            # get_runs(all_users=True) asks who we are (one more round trip) on every call; the answer
            # cannot change during a submission, so it is asked once per session.
            _session["whoami"] = api_get_runs.get_current_user
            api_get_runs.get_current_user = _once(api_get_runs.get_current_user)
            _MCLI_POOL.grow(workers)
            conn = MAPIConnection(pool=_MCLI_POOL)
            conn.__enter__()  # the SDK's own way to make a connection the current one
            _session["conn"] = conn
        _session["depth"] += 1
    try:
        yield _session["conn"]
    finally:
        with _session_lock:
            _session["depth"] -= 1
            if _session["depth"] == 0:
                retry.RETRY_EXCEPTIONS = _session.pop("retry")
                api_get_runs.get_current_user = _session.pop("whoami")
                conn = _session.pop("conn")
                conn.__exit__(None, None, None)
                _settle_websocket(conn)


def _settle_websocket(conn, grace: float = 1.0) -> None:
    """Let the event loop of mcli's websocket (logs) stop after close(): otherwise the connection's
    __del__ closes it again while the interpreter exits, and prints an ignored exception."""
    import time

    loop, end = getattr(conn, "_loop", None), time.monotonic() + grace
    while loop is not None and loop.is_running() and time.monotonic() < end:
        time.sleep(0.02)


def _utc(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def _from_sdk(run) -> PlatformRun:
    meta = run.metadata or {}
    created = _utc(run.created_at)
    return PlatformRun(
        name=run.name,
        uid=str(run.run_uid),
        created_at=created,
        deleted=bool(run.is_deleted),
        status=getattr(run.status, "value", str(run.status)),
        cluster=run.cluster or "",
        gpus=int(run.gpus or 0),
        path=str(meta.get("runrepo_path") or ""),
        digest=str(meta.get("runrepo_digest") or ""),
        commit=str(meta.get("runrepo_commit") or ""),
        base=str(meta.get("runrepo_base") or ""),
        repository=str(meta.get("runrepo_repository") or ""),
        repository_id=str(meta.get("runrepo_repository_id") or ""),
        dataset=str(meta.get("runrepo_dataset") or ""),
        started_at=_utc(run.started_at),
        ended_at=_utc(run.completed_at),
        reason=str(run.reason or ""),
        max_duration=run.max_duration,
        gpu_hours=float(run.get_gpu_hours()),
        nodes=int(run.node_count or 0),
    )


class Platform:
    """The calls submission makes, each bounded by `timeout` seconds and tried exactly once."""

    def __init__(self, timeout: float = 60.0, probe_timeout: float = 10.0, page_size: int = 100):
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.page_size = page_size
        self.all_users = True  # see every submitter's runs; dropped if the key may not (403)
        self.pool = _AUX_POOL  # for SDK calls that have no timeout of their own (next_page)
        self._unanswered: list[tuple[str, cf.Future]] = []  # creates we stopped waiting for
        self._lock = threading.Lock()

    def settle(self, grace: float) -> set[str]:
        """Wait up to `grace` s for unanswered creates; the run paths whose create is still in flight.

        Looking for duplicates before those finish could miss a copy stored a moment later.
        """
        with self._lock:
            futures = list(self._unanswered)
        if futures:
            cf.wait([f for _, f in futures], timeout=grace)
        with self._lock:
            self._unanswered = [(p, f) for p, f in self._unanswered if not f.done()]
            return {p for p, _ in self._unanswered}

    @property
    def endpoint(self) -> str:
        from mcli.config import MCLIConfig

        return MCLIConfig.load_config().endpoint

    def _call(self, fn, *args, timeout: float | None = None, **kwargs):
        try:
            return fn(*args, timeout=timeout or self.timeout, **kwargs)
        except Exception as e:
            raise classify(e, self.endpoint) from None

    def probe(self) -> None:
        """One cheap read with a short timeout: a wrong key or endpoint fails here, in seconds."""
        from mcli import get_runs

        self._call(get_runs, limit=1, timeout=self.probe_timeout)

    def first_page(self, after: datetime | None):
        """The newest page of runs created after `after` (deleted ones too): (runs, handle).

        The platform pages newest first; `next_page(handle)` reads the page after it."""
        from mcli import get_runs

        kwargs = dict(include_details=True, include_deleted=True, limit=self.page_size, after=after)
        try:
            page = self._call(get_runs, all_users=self.all_users, **kwargs)
        except PlatformError as e:
            if not (self.all_users and e.status == 403):
                raise
            self.all_users = False  # this key may only list its own runs: those are what it can delete
            page = self._call(get_runs, all_users=False, **kwargs)
        return [_from_sdk(r) for r in page], page

    def next_page(self, handle):
        """(runs, handle) of the page after `handle`, or None when it was the last."""
        if not handle.has_next_page:
            return None
        future = self.pool.submit(handle.next_page, limit=self.page_size)  # next_page has no timeout
        try:
            page = future.result(timeout=self.timeout)
        except Exception as e:
            raise classify(e, self.endpoint) from None
        return [_from_sdk(r) for r in page], page

    def create(self, run: dict) -> PlatformRun:
        from mcli import RunConfig, create_run

        where = non_finite(run)
        if where is not None:  # strict JSON: NaN and Infinity are not JSON, and mean nothing to NeMo
            raise PlatformError("refused", f"the run holds {where[1]} at {where[0]}: not sent (NaN and Infinity "
                                           "are not JSON)")
        try:
            config = RunConfig.from_dict(copy.deepcopy(run))  # the SDK keeps (and may edit) what it is given
        except Exception as e:  # a run dict mcli cannot even build a config from
            raise PlatformError("refused", f"mcli cannot read the run: {type(e).__name__}: {e}") from None
        meta = run.get("metadata") or {}
        try:
            future = create_run(config, future=True)
            created = future.result(timeout=self.timeout)
        except cf.TimeoutError:
            # Unanswered, not cancelled: mcli's thread still waits and the run may yet be stored.
            with self._lock:
                self._unanswered.append((str(meta.get("runrepo_path", "")), future))
            raise classify(TimeoutError(), self.endpoint) from None
        except Exception as e:
            raise classify(e, self.endpoint) from None
        out = _from_sdk(created)
        if not out.path:  # the create answer carries metadata; fall back to what we sent
            out.path, out.digest = meta.get("runrepo_path", ""), meta.get("runrepo_digest", "")
        return out

    def delete_unstarted(self, names: list[str]) -> set[str]:
        """Delete these runs if they still have not started; the names the platform reports deleted.

        mcli's own deleteRuns mutation, with a status filter added to its name filter: the platform
        then deletes only copies that are still PENDING or QUEUED when it handles the request, so a
        copy that started after our listing is not stopped."""
        from mcli.api.engine.engine import get_return_response, run_plural_mapi_request
        from mcli.api.model.run import Run
        from mcli.api.runs import api_delete_runs as sdk
        from mcli.config import MCLIConfig

        if not names:  # an empty filter would select every run of the key
            return set()
        data = {"filters": {"name": {"in": list(names)}, "status": {"in": sorted(NOT_STARTED)}}}
        MCLIConfig.load_config().update_entity(data)

        def delete(timeout: float):
            response = run_plural_mapi_request(query=sdk.QUERY, query_function=sdk.QUERY_FUNCTION,
                                               return_model_type=Run, variables={sdk.VARIABLE_DATA_NAME: data})
            return get_return_response(response, future=False, timeout=timeout)

        return {r.name for r in self._call(delete)}

    # ---- after the merge (lifecycle/): one run, its logs, stopping ----------------------------------
    def get(self, name: str) -> PlatformRun | None:
        """One run by name (deleted ones too), or None."""
        from mcli import get_runs

        found = self._call(get_runs, runs=[name], include_details=True, include_deleted=True,
                           all_users=self.all_users)
        return _from_sdk(found[0]) if found else None

    def logs(self, name: str, rank: int | None = None, follow: bool = False, failed: bool = False):
        """The log text of a run's latest resumption (one node rank, or with `failed` its first failed
        node), in pieces as mcli yields them.

        mcli reads logs through a websocket subscription; with `follow`, pieces arrive as the run
        writes them until it ends, so only the wait for each piece is unbounded."""
        from mcli import follow_run_logs, get_run_logs

        try:
            if follow:
                yield from follow_run_logs(name, node_rank=rank)
            else:
                yield from get_run_logs(name, node_rank=rank, failed=failed and rank is None, timeout=self.timeout)
        except Exception as e:
            raise classify(e, self.endpoint) from None

    def stop_live(self, names: list[str], reason: str) -> set[str]:
        """Stop these runs if they are still live; the names the platform reports stopped.

        mcli's stopRuns mutation with a status filter added to its name filter (as delete_unstarted
        does), so a run that ended meanwhile is left as it is. Never called with no names: mcli's
        empty filter would stop every run the key can see."""
        from mcli.api.engine.engine import get_return_response, run_plural_mapi_request
        from mcli.api.model.run import Run
        from mcli.api.runs import api_stop_runs as sdk
        from mcli.config import MCLIConfig

        if not names:
            return set()
        data = {"filters": {"name": {"in": list(names)}, "status": {"in": sorted(LIVE)}}}
        MCLIConfig.load_config().update_entity(data)
        variables = {sdk.VARIABLE_DATA_NAME: data, sdk.OPTIONAL_DATA_NAME: {"reason": reason}}

        def stop(timeout: float):
            response = run_plural_mapi_request(query=sdk.QUERY, query_function=sdk.QUERY_FUNCTION,
                                               return_model_type=Run, variables=variables)
            return get_return_response(response, future=False, timeout=timeout)

        return {r.name for r in self._call(stop)}
