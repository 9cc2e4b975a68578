"""Seeded random fault schedules: whatever happens, the platform ends with exactly one live run per identity.

Every schedule mixes every fault the emulator has (latency, 429, 5xx before the run is stored,
a gateway's 502 HTML page after it is stored = a lost answer, connections dropped before and after)
and runs, under those faults:
  1. a submitter killed mid-batch (at a random create, before or after sending it);
  2. its rerun: one submitter or two racing; in some schedules with mcli's own blind retry back on
     (it resends lost creates: real duplicates), in some with answers slower than the client waits
     (creates still in flight when the submitter looks for duplicates);
  3. reruns until one reports success, as a person re-runs a red workflow.
Invariants: a rerun that reports success (every racer) leaves exactly the expected runs; at the end,
one live run per identity, always the earliest copy, none lost.
RUNREPO_FAULT_SCHEDULES sets the count (CI: 200; slow mode: 1000 or more). Figures go to stdout (-s)
and, when RUNREPO_FAULT_REPORT names a file, to that file as JSON.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from types import SimpleNamespace

import pytest
from submit_helpers import REPOSITORY, ZERO, Repo, identities, mcli_env, run_text, running_emulator

SCHEDULES = int(os.environ.get("RUNREPO_FAULT_SCHEDULES", "200"))
RUNS = 6  # run files per schedule (the two bundled ones and four more)


def _repository():
    from runrepo.submit.platform import Repository

    return Repository(REPOSITORY)


class Killed(BaseException):
    """The submitter process dies (SIGKILL): nothing after this point runs."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import backoff._sync
    import mcli.config
    from runrepo.emulator import MCLI_ENV_CONFLICTS
    from runrepo.submit.select import select

    tmp = tmp_path_factory.mktemp("faults")
    repo = Repo(tmp / "repo")
    for i in range(RUNS - 2):
        repo.write(f"runs/experiments/fault-{i}.yaml", run_text(f"fault-{i}"))
    repo.commit("runs for the fault schedules")
    selection = select(repo.path, ZERO, "HEAD", _repository())
    assert len(selection.to_submit) == RUNS
    with pytest.MonkeyPatch.context() as mp, running_emulator(tmp / "state.json") as emu:
        for name in MCLI_ENV_CONFLICTS:
            mp.delenv(name, raising=False)
        for name, value in mcli_env(emu.endpoint, config_dir=tmp / "mosaic").items():
            mp.setenv(name, value)
        mp.setattr(mcli.config, "MCLI_CONFIG_PATH", tmp / "mosaic" / "mcli_config")
        mp.setattr(backoff._sync, "time", SimpleNamespace(sleep=lambda s: None))  # mcli's own backoff, when on
        yield SimpleNamespace(repo=repo, selection=selection, emu=emu)


def _platform(kill_at: int | None = None, after: bool = False, timeout: float = 5):
    from runrepo.submit.platform import Platform

    class Faulty(Platform):
        """A submitter that may be killed at its n-th create, before or after sending it."""

        def __init__(self):
            super().__init__(timeout=timeout, probe_timeout=5)
            self.calls, self.inflight, self.lock = 0, 0, threading.Lock()

        def create(self, run):
            with self.lock:
                self.calls += 1
                n = self.calls
                dead = kill_at is not None and n > kill_at
            if dead or (n == kill_at and not after):
                raise Killed
            with self.lock:
                self.inflight += 1
            try:
                created = super().create(run)
            finally:
                with self.lock:
                    self.inflight -= 1
            if n == kill_at:
                raise Killed
            return created

    return Faulty()


def _settle(platform) -> None:
    """Time passes: whatever this submitter sent (killed or not, answered or not) lands, or not."""
    while platform.inflight:
        time.sleep(0.005)
    assert not platform.settle(60), "a create never finished"


def _submit(selection, platform) -> str:
    """'ok', 'failed' or 'killed'."""
    from runrepo.submit.engine import RetryPolicy, Submitter

    policy = RetryPolicy(concurrency=4, attempts=4, wait=0.001, wait_cap=0.005)
    try:
        out = Submitter(platform, _repository(), None, policy, progress=None).run(selection)
    except Killed:
        return "killed"
    return "failed" if any(o.failed for o in out) else "ok"


def _faults(rng: random.Random, slow_answers: bool) -> tuple[int, list[str]]:
    p = lambda: round(rng.uniform(0.03, 0.15), 3)  # noqa: E731
    body = rng.choice(["html", "json", "empty"])
    # stored, but answered after the client stopped waiting: the create is still in flight
    rules = [f"latency,after,op=createRun,ms=250,p={p() * 2}"] if slow_answers else []
    rules += [
        f"429,before,p={p()}",
        f"{rng.choice([500, 502, 503, 504])},before,p={p()},body={body}",
        f"502,after,op=createRun,p={p()}",  # stored, then the gateway's HTML page: the answer is lost
        f"drop,before,p={p()}",
        f"drop,after,p={p()}",  # stored (or deleted), then the connection drops
        f"latency,ms={rng.randint(1, 15)},p={p()}",
    ]
    rng.shuffle(rules)
    return rng.choice([0, 0, 1, 3]), rules


def _check_exact(emu, expected: set, where: str) -> Counter:
    ids = identities(emu, live_only=False)
    live = {k: [r for r in v if not r["isDeleted"]] for k, v in ids.items()}
    assert set(ids) == expected, f"{where}: unexpected or lost identities {set(ids) ^ expected}"
    for key, runs in live.items():
        assert len(runs) == 1, f"{where}: {len(runs)} live copies of {key}"
        assert runs[0] is ids[key][0], f"{where}: the kept copy of {key} is not the earliest"
    return Counter(
        total=sum(len(v) for v in ids.values()), deleted=sum(r["isDeleted"] for v in ids.values() for r in v)
    )


@pytest.mark.timeout(1800)
def test_random_fault_schedules(world):
    from mcli.api.engine import retry
    from runrepo.submit.platform import mcli_session

    sel, emu = world.selection, world.emu
    expected = {c.identity for c in sel.to_submit}
    stats: Counter = Counter()
    started = time.monotonic()
    with mcli_session(workers=16):
        for seed in range(SCHEDULES):
            rng = random.Random(seed)
            emu.reset()
            slow = rng.random() < 0.25
            latency, rules = _faults(rng, slow)
            emu.set_faults(latency_ms=latency, rules=rules, seed=seed)
            mcli_retry = rng.random() < 0.3
            retry.RETRY_EXCEPTIONS = {429, 502, 503, 504} if mcli_retry else set()
            # 1. a submitter killed mid-batch (before or after sending its n-th create)
            killed = _platform(rng.randint(1, RUNS), rng.random() < 0.5)
            first = _submit(sel, killed)
            _settle(killed)
            # 2. its rerun: one submitter, or two racing, under the same faults
            racers = 2 if rng.random() < 0.35 else 1
            platforms = [_platform(timeout=0.1 if slow else 5) for _ in range(racers)]
            results = [""] * racers

            def go(i: int, results=results, platforms=platforms) -> None:
                results[i] = _submit(sel, platforms[i])

            threads = [threading.Thread(target=go, args=(i,)) for i in range(racers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            where = f"seed {seed} (killed: {first}, then {results}, mcli retry {mcli_retry}, slow {slow})"
            if all(r == "ok" for r in results):
                _check_exact(emu, expected, where + " after a successful submission")
            for p in platforms:  # a rerun starts later: creates its predecessor left in flight are done
                _settle(p)
            # 3. re-run until one reports success, as a person re-runs a red workflow
            reruns = 0
            while results != ["ok"] and not all(r == "ok" for r in results):
                reruns += 1
                if reruns > 6:
                    emu.set_faults()  # the platform recovers eventually
                assert reruns < 9, f"{where}: no successful submission after {reruns - 1} reruns"
                platform = _platform()
                results = [_submit(sel, platform)]
                _settle(platform)
            retry.RETRY_EXCEPTIONS = set()
            counts = _check_exact(emu, expected, where + " at the end")
            log = emu.requests()
            stats.update(
                schedules=1,
                killed=first == "killed",
                races=racers == 2,
                mcli_retry=mcli_retry,
                slow_answers=slow,
                reruns=reruns,
                runs_stored=counts["total"],
                duplicates_removed=counts["deleted"],
                requests=len(log),
                faults_fired=sum(1 for e in log if e["fault"]),
            )
    stats["lost_runs"] = 0  # asserted per schedule by _check_exact
    stats["surviving_duplicates"] = 0
    stats["seconds"] = round(time.monotonic() - started, 1)
    print("\nfault schedules:", json.dumps(dict(stats)))
    if os.environ.get("RUNREPO_FAULT_REPORT"):
        with open(os.environ["RUNREPO_FAULT_REPORT"], "w") as f:
            json.dump(dict(stats), f, indent=2)
    assert stats["schedules"] == SCHEDULES
    assert stats["duplicates_removed"] > 0  # the schedules did produce duplicates to clean up
