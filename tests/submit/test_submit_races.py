"""Duplicates from every source end with exactly one live run per identity: racing submitters (threads and
processes), mcli's own retried createRun, and a submitter killed mid-batch then run again."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest
from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    REPOSITORY,
    ZERO,
    cli_env,
    emu_fixture,
    identities,
    live_paths,
    repo_fixture,
    run_text,
    runrepo_cmd,
    statuses,
    submit,
)

MANY = [f"runs/experiments/many-{i:02d}.yaml" for i in range(10)]


def _repository():
    from runrepo.submit.platform import Repository

    return Repository(REPOSITORY)


def _selection(repo):
    from runrepo.submit.select import select

    return select(repo.path, ZERO, "HEAD", _repository())


def _submitter(platform):
    from runrepo.submit.engine import RetryPolicy, Submitter

    return Submitter(platform, _repository(), None, RetryPolicy(concurrency=4, attempts=4, wait=0.01, wait_cap=0.05),
                     progress=None)


def test_two_submitters_at_once_in_threads(repo, emu):
    """Both list before either creates (a barrier makes sure), so every identity is created twice."""
    from runrepo.submit.platform import Platform, mcli_session

    barrier = threading.Barrier(2, timeout=60)

    class Racing(Platform):
        def first_page(self, after):
            page = super().first_page(after)
            if not getattr(self, "raced", False):
                self.raced = True
                barrier.wait()
            return page

    selection = _selection(repo)
    results = {}
    with mcli_session():
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, _submitter(Racing(timeout=30)).run(selection)))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    problems = [(o.path, o.detail) for out in results.values() for o in out if o.failed]
    assert len(results) == 2 and not problems, problems
    assert live_paths(emu) == BUNDLED
    per_identity = identities(emu, live_only=False)
    assert all(len(runs) == 2 for runs in per_identity.values())  # each created twice ...
    for runs in per_identity.values():  # ... and the later copy removed, by one submitter or both
        assert not runs[0]["isDeleted"] and runs[1]["isDeleted"]
    reported = {o.status for out in results.values() for o in out}
    assert "duplicate-removed" in reported


def test_two_submitter_processes_at_once(repo, emu, tmp_path):
    for path in MANY:
        repo.write(path, run_text(path.split("/")[-1][:-5]))
    repo.commit("ten runs")
    emu.set_faults(rules=["latency,ms=150,op=createRun"])
    env = cli_env(emu, tmp_path)
    cmd = [*runrepo_cmd(), "submit", "--repo", str(repo.path), "--base", ZERO, "--retry-wait", "0.05"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert live_paths(emu) == sorted([*BUNDLED, *MANY])
    for runs in identities(emu, live_only=False).values():
        assert not runs[0]["isDeleted"] and all(r["isDeleted"] for r in runs[1:])


def test_mcli_retry_duplicate_is_removed(repo, emu, monkeypatch):
    """mcli's backoff resends a createRun whose answer was lost: two runs; the next submission keeps one."""
    import backoff._sync
    import mcli
    from mcli.api.engine import engine

    monkeypatch.setattr(backoff._sync, "time", SimpleNamespace(sleep=lambda s: None))
    monkeypatch.setattr(engine, "_CONNECTION", None)
    run = next(c for c in _selection(repo).to_submit if c.path == BUNDLED[0]).run
    emu.set_faults(rules=["502,after,op=createRun,count=1"])
    mcli.create_run(mcli.RunConfig.from_dict(run))  # mcli reports success ...
    assert live_paths(emu) == [BUNDLED[0], BUNDLED[0]]  # ... and the platform holds two
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 0
    assert statuses(data) == {BUNDLED[0]: "duplicate-removed", BUNDLED[1]: "created"}
    first = identities(emu, live_only=False)[(BUNDLED[0], run["metadata"]["runrepo_digest"])]
    assert [r["isDeleted"] for r in first] == [False, True]  # the earliest is the one kept
    assert live_paths(emu) == BUNDLED


@pytest.mark.timeout(180)
def test_killed_mid_batch_then_the_next_run_finishes_it(repo, emu, tmp_path):
    """SIGKILL a real `runrepo submit` after some creates; `--base auto` then sees it was cut short."""
    for path in MANY:
        repo.write(path, run_text(path.split("/")[-1][:-5]))
    head = repo.commit("ten runs")
    emu.set_faults(rules=["latency,ms=300,op=createRun"])
    cmd = [*runrepo_cmd(), "submit", "--repo", str(repo.path), "--base", ZERO, "--concurrency", "2"]
    proc = subprocess.Popen(cmd, env=cli_env(emu, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(emu.runs()) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    time.sleep(0.5)  # requests the killed process had in flight land (or not) before the rerun
    total, stored = len(MANY) + len(BUNDLED), len(emu.runs())
    assert 3 <= stored < total, stored
    emu.set_faults()
    code, data, err = submit(repo, "--base", "auto", "--fallback-base", head)
    assert code == 0, err
    assert "incomplete" in err
    assert live_paths(emu) == sorted([*BUNDLED, *MANY])
    counts = list(statuses(data).values())
    assert (counts.count("created"), counts.count("existing")) == (total - stored, stored)
