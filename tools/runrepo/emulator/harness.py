"""In-process helpers: start an emulator on a free port and point mcli at it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import catalog, runs
from . import lifecycle as _lifecycle
from .faults import FaultPlan, FaultRule
from .server import EmulatorServer, script_run, set_run_status
from .state import StateStore

# Variables that would send mcli elsewhere or change its auth/timeouts if inherited.
MCLI_ENV_CONFLICTS = ("MCLI_MODE", "MOSAICML_ACCESS_TOKEN_FILE", "MCLI_TIMEOUT", "MOSAICML_MINT_ENDPOINT")


def mcli_env(endpoint: str, api_key: str = "test-key", *,
             config_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Environment variables that make the real mcli SDK/CLI talk to `endpoint`.

    mcli reads endpoint and key from the environment on each request. Its config file
    (~/.mosaic/mcli_config, or MCLI_CONFIG_DIR / MCLI_CONFIG_PATH, read at import time)
    is optional; pass `config_dir` to isolate it. Callers should also drop the names in
    MCLI_ENV_CONFLICTS from the environment they pass on.
    """
    env = {
        "MOSAICML_API_ENDPOINT": endpoint,
        "MOSAICML_API_KEY": api_key,
        "MCLI_DISABLE_UPGRADE_CHECK": "true",
    }
    if config_dir is not None:
        env["MCLI_CONFIG_DIR"] = str(config_dir)
        env["MCLI_CONFIG_PATH"] = str(Path(config_dir) / "mcli_config")
    return env


class Emulator:
    """Handle on a running in-process emulator."""

    def __init__(self, server: EmulatorServer, thread: threading.Thread):
        self.server = server
        self._thread = thread

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def state_path(self) -> Path:
        return self.server.store.path

    def env(self, api_key: str = "test-key", **kwargs: Any) -> dict[str, str]:
        return mcli_env(self.endpoint, api_key, **kwargs)

    def set_faults(self, *, latency_ms: int = 0, rules: Iterable[FaultRule | dict[str, Any] | str] = (),
                   seed: int | None = None) -> None:
        """Replace the fault plan. Rules are FaultRule objects, dicts or CLI strings."""
        plan = {"latency_ms": latency_ms, "rules": list(rules), "seed": seed}
        self.server.faults = FaultPlan.from_dict(plan)

    def faults(self) -> dict[str, Any]:
        return self.server.faults.to_dict()

    def runs(self, include_deleted: bool = True) -> list[dict[str, Any]]:
        return self.server.store.runs(include_deleted=include_deleted)

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        with self.server.log_lock:
            log = list(self.server.request_log)
        return [e for e in log if operation is None or e["operation"] == operation]

    def set_status(self, name: str, status: str, reason: str | None = None) -> dict[str, Any] | None:
        return set_run_status(self.server.store, name, status, reason)

    def set_lifecycle(self, steps: _lifecycle.Steps | None) -> None:
        """The script every new run follows, e.g. "QUEUED@0.2,RUNNING@0.5,COMPLETED@5" (seconds after
        its creation); None or "": runs stay PENDING until moved."""
        self.server.lifecycle = _lifecycle.parse_steps(steps)

    def set_data_lifecycle(self, steps: _lifecycle.Steps | None) -> None:
        """The script runrepo's data runs (metadata runrepo_path under runs/data/) follow instead, e.g.
        "RUNNING@0.5,COMPLETED@2": data runs complete while training runs stay where the other script puts them."""
        self.server.data_lifecycle = _lifecycle.parse_steps(steps)

    def schedule(self, name: str, steps: _lifecycle.Steps) -> dict[str, Any] | None:
        """Script one run: steps `after` seconds from now or `at` a time (past times apply at once)."""
        return script_run(self.server.store, name, _lifecycle.parse_steps(steps))

    def append_log(self, name: str, text: str, rank: int = 0) -> dict[str, Any] | None:
        return script_run(self.server.store, name, [], text, rank)

    def seed(self, run_inputs: Iterable[dict[str, Any]], email: str = "seed@example.com") -> list[str]:
        """Store many runs in one write, each validated as createRun validates it (`runInput` as mcli
        sends it): a platform holding thousands of runs without thousands of requests. Their names."""
        user = catalog.user_for_email(email)
        with self.server.store.transaction() as state:
            made = [runs.create_run(state, ri, user) for ri in run_inputs]
            for run in made:
                steps = _lifecycle.script_for(run, self.server.lifecycle, self.server.data_lifecycle)
                if steps:
                    _lifecycle.attach(run, steps, _lifecycle.parse_time(run["createdAt"]))
        return [r["name"] for r in made]

    def backdate(self, name: str, created_at: datetime) -> None:
        """Make a stored run look as if it had been created at `created_at` (runs of past months)."""
        stamp = created_at.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
        with self.server.store.transaction() as state:
            for run in state["runs"]:
                if run["name"] == name:
                    run["createdAt"] = run["updatedAt"] = stamp
                    for res in run.get("resumptions") or []:
                        res["createdAt"] = stamp

    def reset(self) -> None:
        self.server.store.reset()
        self.server.faults = FaultPlan()
        with self.server.log_lock:
            self.server.request_log.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def start_emulator(state_path: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 0,
                   api_keys: Mapping[str, str] | Iterable[str] | None = None, verbose: bool = False,
                   lifecycle: _lifecycle.Steps | None = None, data_lifecycle: _lifecycle.Steps | None = None,
                   **faults: Any) -> Emulator:
    """Serve in a daemon thread; `faults` are FaultPlan fields (latency_ms, rules, seed); `lifecycle`
    the script new runs follow (Emulator.set_lifecycle), `data_lifecycle` the one data runs follow."""
    store = StateStore(state_path)
    store.ensure()
    plan = FaultPlan.from_dict(faults)
    server = EmulatorServer(host, port, store, plan, api_keys=api_keys, verbose=verbose)
    server.lifecycle = _lifecycle.parse_steps(lifecycle)
    server.data_lifecycle = _lifecycle.parse_steps(data_lifecycle)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="mapi-emulator", daemon=True)
    thread.start()
    return Emulator(server, thread)


@contextmanager
def running_emulator(state_path: str | os.PathLike[str], **kwargs: Any) -> Iterator[Emulator]:
    """`with running_emulator(tmp / "state.json", latency_ms=50) as emu: ...`"""
    emulator = start_emulator(state_path, **kwargs)
    try:
        yield emulator
    finally:
        emulator.stop()
