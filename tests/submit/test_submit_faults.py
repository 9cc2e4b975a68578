"""Seeded random fault schedules: whatever happens, every identity ends with exactly one live run,
none is lost, and no run that had started is stopped.

Every schedule draws a history (below) and mixes every fault the emulator has (latency, 429, 5xx
before the run is stored, a gateway's 502 HTML page after it is stored = a lost answer, connections
dropped before and after), and runs under those faults:
  1. a submitter killed mid-batch (at a random create, before or after sending it);
  2. its rerun: one submitter or two racing; in some schedules with mcli's own blind retry back on
     (it resends lost creates: real duplicates), in some with answers slower than the client waits
     (creates still in flight when the submitter looks for duplicates);
  3. reruns until one reports success, as a person re-runs a red workflow.
Histories: six new runs (linear); the same with two of them submitted 400 days ago (old runs);
with another repository's identical runs on the platform, some RUNNING (second repository); with an
old COMPLETED and a newer RUNNING copy of one identity (running duplicate: reported, never stopped);
and a merge of a branch whose edit is older than main's last edit of that file (merge).
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
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from submit_helpers import REPOSITORY, ZERO, Repo, identities, mcli_env, run_text, running_emulator

SCHEDULES = int(os.environ.get("RUNREPO_FAULT_SCHEDULES", "200"))
RUNS = 6  # run files of the linear history (the two bundled ones and four more)
OTHER = "acme/other"  # another repository of the organisation, with the same run files
YEAR_AGO = datetime.now(timezone.utc) - timedelta(days=400)
HISTORIES = ("linear", "old runs", "second repository", "running duplicate", "merge")


def _repository(name: str = REPOSITORY):
    from runrepo.submit.platform import Repository

    return Repository(name)


class Killed(BaseException):
    """The submitter process dies (SIGKILL): nothing after this point runs."""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import backoff._sync
    import mcli.config
    from runrepo.emulator import MCLI_ENV_CONFLICTS
    from runrepo.git import Git
    from runrepo.submit.select import lookup_start, select

    tmp = tmp_path_factory.mktemp("faults")
    repo = Repo(tmp / "repo", date=YEAR_AGO.strftime("%Y-%m-%dT%H:%M:%SZ"))  # the bundled runs: a year old
    for i in range(RUNS - 2):
        repo.write(f"runs/experiments/fault-{i}.yaml", run_text(f"fault-{i}"))
    linear_head = repo.commit("runs for the fault schedules")
    linear = select(repo.path, ZERO, linear_head, _repository())
    assert len(linear.to_submit) == RUNS
    # merge: f2 edits fault-0's data in a commit older than main's move of fault-0 to another cluster
    repo.git("checkout", "-q", "-b", "f2")
    repo.edit("runs/experiments/fault-0.yaml", "pile_00", "pile_07")
    repo.commit("f2: other data", date="2026-01-01T00:00:00Z")
    repo.git("checkout", "-q", "main")
    repo.edit("runs/experiments/fault-0.yaml", "/cluster: r7z2", "/cluster: r9z1")
    main1 = repo.commit("main: other cluster")
    repo.git("merge", "-q", "--no-ff", "f2", "-m", "Merge f2")
    before_merge = select(repo.path, ZERO, main1, _repository())
    merge = select(repo.path, main1, repo.head(), _repository())
    assert [c.path for c in merge.to_submit] == ["runs/experiments/fault-0.yaml"]
    git = Git(repo.path)
    since = {key: lookup_start(git, sel.head, [c.path for c in sel.to_submit])
             for key, sel in (("linear", linear), ("merge", merge))}
    with pytest.MonkeyPatch.context() as mp, running_emulator(tmp / "state.json") as emu:
        for name in MCLI_ENV_CONFLICTS:
            mp.delenv(name, raising=False)
        for name, value in mcli_env(emu.endpoint, config_dir=tmp / "mosaic").items():
            mp.setenv(name, value)
        mp.setattr(mcli.config, "MCLI_CONFIG_PATH", tmp / "mosaic" / "mcli_config")
        mp.setattr(backoff._sync, "time", SimpleNamespace(sleep=lambda s: None))  # mcli's own backoff, when on
        yield SimpleNamespace(repo=repo, git=git, linear=linear, before_merge=before_merge, merge=merge,
                              since=since, emu=emu)


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


def _submit(world, selection, platform, since) -> tuple[str, list]:
    """('ok' | 'failed' | 'killed', outcomes)."""
    from runrepo.submit.engine import RetryPolicy, Submitter

    policy = RetryPolicy(concurrency=4, attempts=4, wait=0.001, wait_cap=0.005)
    try:
        out = Submitter(platform, _repository(), since, policy, world.git.is_ancestor, progress=None).run(selection)
    except Killed:
        return "killed", []
    return ("failed" if any(o.failed and o.status != "duplicate" for o in out) else "ok"), out


def _create(run: dict, repository: str, status: str | None = None, created_at: datetime | None = None) -> str:
    """A run on the platform as another submitter left it (no faults while seeding)."""
    import mcli

    run = {**run, "metadata": {**run["metadata"], "runrepo_repository": repository}}
    created = mcli.create_run(mcli.RunConfig.from_dict(run))
    return created.name


def _seed(world, history: str, rng: random.Random) -> tuple[object, object, dict[str, str]]:
    """Put the history's platform state in place: (selection, since, name -> status of seeded runs)."""
    emu, seeded = world.emu, {}
    if history == "merge":
        for c in world.before_merge.to_submit:  # main before the merge was submitted cleanly
            seeded[_create(c.run, REPOSITORY)] = "PENDING"
        return world.merge, world.since["merge"], seeded
    cands = world.linear.to_submit
    if history == "old runs":
        for c in cands[:2]:
            name = _create(c.run, REPOSITORY)
            emu.backdate(name, YEAR_AGO + timedelta(hours=1))
            emu.set_status(name, "COMPLETED")
            seeded[name] = "COMPLETED"
    elif history == "second repository":
        for c in cands:
            name = _create(c.run, OTHER)
            status = rng.choice(["PENDING", "RUNNING", "COMPLETED"])
            emu.set_status(name, status)
            seeded[name] = status
    elif history == "running duplicate":
        old, new = _create(cands[0].run, REPOSITORY), _create(cands[0].run, REPOSITORY)
        emu.set_status(old, "COMPLETED")
        emu.set_status(new, "RUNNING")
        seeded.update({old: "COMPLETED", new: "RUNNING"})
    return world.linear, world.since["linear"], seeded


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


def _check(world, history: str, selection, seeded: dict[str, str], where: str) -> Counter:
    """One live copy per identity (the earliest), none lost, no started run stopped, others untouched."""
    emu = world.emu
    records = {r["name"]: r for r in emu.runs()}
    for name, status in seeded.items():
        run = records[name]
        if status != "PENDING":
            assert not run["isDeleted"] and run["status"] == status, f"{where}: seeded {status} run {name} touched"
    ours = {k: [r for r in v if r["details"]["metadata"].get("runrepo_repository") == REPOSITORY]
            for k, v in identities(emu, live_only=False).items()}
    ours = {k: v for k, v in ours.items() if v}
    expected = {c.identity for c in selection.to_submit}
    if history == "merge":
        expected |= {c.identity for c in world.before_merge.to_submit}
    assert set(ours) == expected, f"{where}: unexpected or lost identities {set(ours) ^ expected}"
    dup = world.linear.to_submit[0].identity if history == "running duplicate" else None
    for key, runs in ours.items():
        live = [r for r in runs if not r["isDeleted"]]
        if key == dup:  # both copies stay: reported for a person, never stopped
            assert len(live) == 2, f"{where}: the running duplicate lost a copy"
            continue
        assert len(live) == 1, f"{where}: {len(live)} live copies of {key}"
        assert live[0] is runs[0], f"{where}: the kept copy of {key} is not the earliest"
    return Counter(total=sum(len(v) for v in ours.values()),
                   deleted=sum(r["isDeleted"] for v in ours.values() for r in v))


@pytest.mark.timeout(1800)
def test_random_fault_schedules(world):
    from mcli.api.engine import retry
    from runrepo.submit.platform import mcli_session

    emu = world.emu
    stats: Counter = Counter()
    started = time.monotonic()
    with mcli_session(workers=16):
        for seed in range(SCHEDULES):
            rng = random.Random(seed)
            history = HISTORIES[seed % len(HISTORIES)]
            emu.reset()
            sel, since, seeded = _seed(world, history, rng)
            slow = rng.random() < 0.25
            latency, rules = _faults(rng, slow)
            emu.set_faults(latency_ms=latency, rules=rules, seed=seed)
            mcli_retry = rng.random() < 0.3
            retry.RETRY_EXCEPTIONS = {429, 502, 503, 504} if mcli_retry else set()
            # 1. a submitter killed mid-batch (before or after sending its n-th create)
            killed = _platform(rng.randint(1, max(1, len(sel.to_submit))), rng.random() < 0.5)
            first, _ = _submit(world, sel, killed, since)
            _settle(killed)
            # 2. its rerun: one submitter, or two racing, under the same faults
            racers = 2 if rng.random() < 0.35 else 1
            platforms = [_platform(timeout=0.1 if slow else 5) for _ in range(racers)]
            results = [""] * racers

            def go(i: int, results=results, platforms=platforms, sel=sel, since=since) -> None:
                results[i] = _submit(world, sel, platforms[i], since)[0]

            threads = [threading.Thread(target=go, args=(i,)) for i in range(racers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            where = f"seed {seed} {history} (killed: {first}, then {results}, mcli retry {mcli_retry}, slow {slow})"
            if all(r == "ok" for r in results):
                _check(world, history, sel, seeded, where + " after a successful submission")
            for p in platforms:  # a rerun starts later: creates its predecessor left in flight are done
                _settle(p)
            # 3. re-run until one reports success, as a person re-runs a red workflow
            reruns, outcomes = 0, []
            while not all(r == "ok" for r in results):
                reruns += 1
                if reruns > 6:
                    emu.set_faults()  # the platform recovers eventually
                assert reruns < 9, f"{where}: no successful submission after {reruns - 1} reruns"
                platform = _platform()
                result, outcomes = _submit(world, sel, platform, since)
                results = [result]
                _settle(platform)
            retry.RETRY_EXCEPTIONS = set()
            counts = _check(world, history, sel, seeded, where + " at the end")
            if history == "running duplicate" and outcomes:
                assert "duplicate" in {o.status for o in outcomes}, f"{where}: the running duplicate was not reported"
            log = emu.requests()
            stats.update(
                schedules=1,
                **{f"history: {history}": 1},
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
    stats["lost_runs"] = 0  # asserted per schedule by _check
    stats["surviving_duplicates"] = 0
    stats["started_runs_stopped"] = 0
    stats["seconds"] = round(time.monotonic() - started, 1)
    print("\nfault schedules:", json.dumps(dict(stats)))
    if os.environ.get("RUNREPO_FAULT_REPORT"):
        with open(os.environ["RUNREPO_FAULT_REPORT"], "w") as f:
            json.dump(dict(stats), f, indent=2)
    assert stats["schedules"] == SCHEDULES
    assert stats["duplicates_removed"] > 0  # the schedules did produce duplicates to clean up
