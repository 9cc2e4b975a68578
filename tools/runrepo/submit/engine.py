"""Exactly once: look up, create what is missing, look again, keep the earliest copy of each identity.

Identity is (runrepo_path, runrepo_digest) in a run's metadata. One submission:
  1. probe: one cheap read with a short timeout (a wrong key or endpoint fails in seconds);
  2. list: one paginated listing of the window (deleted runs included: a run a person deleted is
     present, so a rerun does not bring it back);
  3. create what is absent, `concurrency` at a time. A create that failed ambiguously (429, 5xx,
     dropped connection, no answer in time) may have been stored: it is never sent again blindly;
     after a wait the listing is read again and only identities still absent are created again;
  4. list again and, per identity, delete every live copy but the earliest (createdAt, then id).
     Every submitter orders copies the same way, so two racing submitters, mcli's own retry or a
     killed-and-rerun submitter all converge on the same single run.
A duplicate can therefore exist from the moment it is stored until step 4 of a submitter that sees
it: normally well under a minute. A create that never answered within the timeout might be stored
after step 4; it is reported as failed so that the rerun (which reconciles again) is not forgotten.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .plan import Candidate, Selection
from .platform import Platform, PlatformError, PlatformRun


@dataclass
class Policy:
    concurrency: int = 8
    attempts: int = 5  # tries per call (listing, delete) and create rounds per run
    probe_attempts: int = 2
    wait: float = 1.0  # first wait between tries; doubles, capped, jittered
    wait_cap: float = 30.0
    window_days: float = 30.0  # how far back identities are looked up


@dataclass
class Outcome:
    path: str
    status: str  # created | existing | skipped | failed | duplicate-removed | deleted
    name: str = ""
    cluster: str = ""
    gpus: int = 0
    detail: str = ""
    removed: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def group(listing: list[PlatformRun]) -> dict[tuple[str, str], list[PlatformRun]]:
    out: dict[tuple[str, str], list[PlatformRun]] = defaultdict(list)
    for r in listing:
        if r.path and r.digest:
            out[r.identity].append(r)
    for runs in out.values():
        runs.sort(key=lambda r: r.order)
    return out


class Submitter:
    def __init__(self, platform: Platform, policy: Policy | None = None,
                 is_ancestor: Callable[[str, str], bool] | None = None,
                 progress: Callable[[str], None] | None = _stderr, now: Callable[[], datetime] | None = None):
        self.platform = platform
        self.policy = policy or Policy()
        self.is_ancestor = is_ancestor or (lambda a, b: a == b)
        self.progress = progress or (lambda line: None)
        self.now = now or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------------------------
    def say(self, line: str) -> None:
        with self._lock:
            self.progress(f"runrepo submit: {line}")

    def _sleep(self, attempt: int) -> None:
        p = self.policy
        time.sleep(min(p.wait_cap, p.wait * 2**attempt) * random.uniform(0.5, 1.0))

    def _retry(self, fn, attempts: int | None = None):
        """Retry an idempotent call on transient errors; anything else, or the last error, is raised."""
        attempts = attempts or self.policy.attempts
        for attempt in range(attempts):
            try:
                return fn()
            except PlatformError as e:
                if not e.transient or attempt == attempts - 1:
                    raise
                self._sleep(attempt)
        raise AssertionError("unreachable")

    def since(self) -> datetime:
        return self.now() - timedelta(days=self.policy.window_days)

    def probe(self) -> None:
        def once():
            try:
                self.platform.probe()
            except PlatformError as e:
                if e.kind == "timeout":  # a hung endpoint: waiting again would double the wait
                    raise PlatformError("no-answer", f"{e} (probe, {self.platform.probe_timeout:g} s)") from None
                raise

        self._retry(once, self.policy.probe_attempts)

    def listing(self) -> list[PlatformRun]:
        return self._retry(lambda: self.platform.list_runs(self.since()))

    def connect(self) -> list[PlatformRun]:
        """Probe and list at once: the probe's short timeout answers "reachable, key valid?" in seconds
        while the (read-only) listing is already on its way."""
        future = self.platform.pool.submit(self.listing)
        self.probe()
        try:
            return future.result()
        except PlatformError:
            raise
        except Exception as e:  # a bug in a worker thread: one line, not a traceback
            raise PlatformError("transient", f"listing failed: {type(e).__name__}: {e}") from None

    # ---- the algorithm --------------------------------------------------------------------
    def run(self, selection: Selection, listing: list[PlatformRun] | None = None) -> list[Outcome]:
        """Submit a selection. `listing` (already read, e.g. to derive the base) skips probe and list."""
        outcomes = {c.path: _static_outcome(c) for c in selection.candidates if c.decision != "submit"}
        todo = selection.to_submit
        if todo:
            outcomes.update(self._submit(todo, listing))
        return [outcomes[c.path] for c in selection.candidates]

    def _submit(self, todo: list[Candidate], listing: list[PlatformRun] | None) -> dict[str, Outcome]:
        try:
            if listing is None:
                listing = self.connect()
        except PlatformError as e:
            return {c.path: _fail(c, f"not submitted: {e}") for c in todo}
        out: dict[str, Outcome] = {}
        covered, pending = missing(todo, listing, self.is_ancestor)
        for c in todo:
            cover = covered.get(c.path)
            if cover:
                out[c.path] = Outcome(c.path, "skipped", cover.name, cover.cluster, cover.gpus,
                                      f"already submitted at {cover.commit[:12]}; the expanded run changed "
                                      "since only through shared layers (a Runrepo-Resubmit trailer or a "
                                      "runrepo.rerun bump resubmits it)")
        mine, errors, maybe = self._create_rounds(list(pending))
        for c in pending:
            if c.path in errors and c.path not in maybe:
                out[c.path] = _fail(c, errors[c.path])
        submitted = [c for c in todo if c.path not in out]  # the maybe-stored ones are looked up too
        # A submitter that stored nothing added no copy: its first listing is as good as a new one.
        fresh = None if mine or maybe else listing
        out.update(self._reconcile(submitted, mine, {p: errors[p] for p in maybe}, fresh))
        return out

    def _create_rounds(self, pending: list[Candidate]):
        """Create each pending run, in rounds.

        Returns (path -> uids we know we created ("?": stored despite a lost answer), path -> last
        error, paths whose last error was ambiguous: they may be stored, the final look-up decides).
        """
        mine: dict[str, set[str]] = defaultdict(set)
        errors: dict[str, str] = {}
        done, total = 0, len(pending)
        for attempt in range(self.policy.attempts):
            if not pending:
                break
            if attempt:
                self._sleep(attempt - 1)
                try:  # the lost answers of the last round: which of them were stored after all?
                    present = group(self.listing())
                except PlatformError as e:
                    for c in pending:
                        errors[c.path] = f"{errors[c.path]}; then the look-up failed: {e}"
                    return mine, errors, {c.path for c in pending}
                for c in [c for c in pending if c.identity in present]:
                    pending.remove(c)
                    errors.pop(c.path)
                    mine[c.path].add("?")  # ours, though which copy is not known
                    self.say(f"{c.path}: stored despite the lost answer")
            retry: list[Candidate] = []
            for c, result in self._wave(pending):
                if isinstance(result, PlatformRun):
                    mine[c.path].add(result.uid)
                    errors.pop(c.path, None)
                    done += 1
                    self.say(f"[{done}/{total}] {c.path}: created {result.name} ({result.cluster}, {result.gpus} GPUs)")
                elif result.transient:
                    errors[c.path] = f"not submitted after {attempt + 1} attempt(s): {result}" + (
                        "; the run may still appear on the platform: rerun to reconcile"
                        if result.kind == "timeout" else "")
                    retry.append(c)
                    self.say(f"{c.path}: {result} (will look before trying again)")
                else:
                    errors[c.path] = f"not submitted: {result}"
                    self.say(f"{c.path}: {result}")
            pending = retry
        return mine, errors, {c.path for c in pending}

    def _wave(self, cands: list[Candidate]):
        """(candidate, PlatformRun | PlatformError) as each create finishes, `concurrency` at a time."""
        if not cands:
            return
        pool = ThreadPoolExecutor(max(1, self.policy.concurrency), thread_name_prefix="runrepo-create")
        try:
            futures = {pool.submit(self.platform.create, c.run): c for c in cands}
            for f in as_completed(futures):
                try:
                    yield futures[f], f.result()
                except PlatformError as e:
                    yield futures[f], e
        finally:  # a killed submitter (BaseException) sends nothing more
            pool.shutdown(wait=False, cancel_futures=True)

    def _reconcile(self, submitted: list[Candidate], mine: dict[str, set[str]],
                   maybe: dict[str, str], listing: list[PlatformRun] | None = None) -> dict[str, Outcome]:
        if not submitted:
            return {}
        # Creates we stopped waiting for are still in mcli's hands: let them finish first, so that a
        # copy they store is in the listing below; one that does not finish fails its run.
        in_flight = self.platform.settle(self.platform.timeout) if listing is None else set()
        try:
            index = group(listing if listing is not None else self.listing())
        except PlatformError as e:
            return {c.path: _fail(c, f"submitted, but duplicates could not be checked: {e}; rerun to reconcile")
                    for c in submitted}
        doomed: dict[str, PlatformRun] = {}
        for c in submitted:
            for r in index.get(c.identity, [])[1:]:
                if not r.deleted:
                    doomed[r.name] = r
        removed, problem = self._delete(sorted(doomed))
        out = {}
        for c in submitted:
            copies = index.get(c.identity, [])
            ours = mine.get(c.path, set())
            if not copies:
                out[c.path] = (_fail(c, maybe[c.path]) if c.path in maybe else Outcome(
                    c.path, "created" if ours else "failed", cluster=c.cluster, gpus=c.gpus,
                    detail="created, but not listed afterwards" if ours else "not found after submission"))
                continue
            if c.path in maybe:
                ours = ours | {"?"}  # stored despite the lost answer
            keeper, rest = copies[0], copies[1:]
            gone = [r.name for r in rest if r.name in removed]
            left = [r.name for r in rest if r.name in doomed and r.name not in removed]
            o = Outcome(c.path, "existing", keeper.name, keeper.cluster, keeper.gpus, removed=gone)
            lost = [r.name for r in rest if r.uid in ours]
            if left:
                o.status, o.detail = "failed", f"duplicate(s) {', '.join(left)} of {keeper.name} not removed: {problem}"
            elif gone or lost:
                o.status = "duplicate-removed"
                who = "ours" if keeper.uid in ours or "?" in ours else "created first by another submitter"
                o.detail = f"kept {keeper.name} ({who}); removed {', '.join(sorted(set(gone + lost)))}"
            elif ours:
                o.status = "created"
            elif keeper.deleted:
                o.detail = "deleted on the platform; not resubmitted (bump runrepo.rerun to run it again)"
            if c.path in in_flight:
                o.status = "failed"
                o.detail = (f"kept {keeper.name}, but a create that got no answer is still in flight: "
                            "it may store another copy; rerun to reconcile")
            out[c.path] = o
            if o.status != "created":
                self.say(f"{c.path}: {o.status} {keeper.name}" + (f" ({o.detail})" if o.detail else ""))
        return out

    def _delete(self, names: list[str]) -> tuple[set[str], str]:
        """Delete duplicates; a name counts as removed once a listing shows it deleted."""
        if not names:
            return set(), ""
        problem = ""
        try:
            self._retry(lambda: self.platform.delete(names))
        except PlatformError as e:
            problem = str(e)
        try:
            listing = self.listing()
        except PlatformError as e:
            return set(), problem or f"could not confirm the deletion: {e}"
        gone = {r.name for r in listing if r.deleted and r.name in names}
        if gone != set(names) and not problem:
            problem = "the platform did not delete them (another user's runs?)"
        return gone, problem


def missing(todo: list[Candidate], listing: list[PlatformRun], is_ancestor: Callable[[str, str], bool]):
    """Split the runs to submit by what the platform holds: (covered: path -> run, to create).

    Present (same identity, deleted or not) -> neither: reconciled and reported as existing.
    Covered: a run of this file was submitted from a head that already had this file's last edit (or
    the trailer asking for it), so the expanded run differs only through shared layers changed since,
    which must not resubmit it. This keeps an over-wide range (a caught-up dropped workflow) harmless.
    """
    index = group(listing)
    by_path: dict[str, list[PlatformRun]] = defaultdict(list)
    for r in listing:
        by_path[r.path].append(r)
    covered: dict[str, PlatformRun] = {}
    create: list[Candidate] = []
    for c in todo:
        if c.identity in index:
            continue
        hits = [r for r in by_path.get(c.path, []) if r.commit and c.cause and is_ancestor(c.cause, r.commit)]
        if hits:
            covered[c.path] = max(hits, key=lambda r: r.order)
        else:
            create.append(c)
    return covered, create


def _fail(c: Candidate, detail: str) -> Outcome:
    return Outcome(c.path, "failed", cluster=c.cluster, gpus=c.gpus, detail=detail)


def _static_outcome(c: Candidate) -> Outcome:
    status = {"skip": "skipped", "invalid": "failed", "deleted": "deleted"}[c.decision]
    return Outcome(c.path, status, cluster=c.cluster, gpus=c.gpus, detail=c.reason)
