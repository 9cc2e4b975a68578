"""Exactly once: look up, create what is missing, look again, remove only copies that never started.

Identity is (repository, runrepo_path, runrepo_digest) from a run's metadata (platform.Repository
says which runs are this repository's). One submission:
  1. probe: one cheap read with a short timeout (a wrong key or endpoint fails in seconds);
  2. list back to the lookup start: no copy of an identity can be older than the first commit
     that had its run file (less a margin for clock skew), so the look-up is complete without
     any window. Deleted runs are listed too: a run a person deleted stays deleted;
  3. create what is absent, `concurrency` at a time. A create that failed ambiguously (429, 5xx,
     dropped connection, no answer in time) may have been stored: it is never sent again blindly;
     after a wait the platform is listed again and only identities still absent are created;
  4. list again and, per identity, delete the later copies that have not started (PENDING or
     QUEUED): the earliest copy is never deleted, so racing submitters that order copies the same
     way cannot remove every copy between them. A later copy that has started is never touched:
     it is reported red, naming both runs, for a person to decide.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime

from . import ordering
from .platform import Platform, PlatformError, PlatformRun, Repository
from .select import Candidate, Selection

FAILED = ("failed", "duplicate")


@dataclass
class RetryPolicy:
    concurrency: int = 8
    attempts: int = 5  # tries per call (listing, delete) and create rounds per run
    wait: float = 1.0  # first wait between tries; doubles, capped, jittered
    wait_cap: float = 30.0


@dataclass
class Outcome:
    path: str
    status: str  # created | existing | skipped | waiting | failed | duplicate | duplicate-removed | deleted
    name: str = ""
    cluster: str = ""
    gpus: int = 0
    detail: str = ""
    removed: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in FAILED


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def group(listing: list[PlatformRun], repository: Repository) -> dict[tuple[str, str], list[PlatformRun]]:
    """(path, digest) -> this repository's copies (and copies of unknown origin), earliest first."""
    out: dict[tuple[str, str], list[PlatformRun]] = defaultdict(list)
    for r in listing:
        if r.path and r.digest and repository.owns(r) is not False:
            out[r.identity].append(r)
    for runs in out.values():
        runs.sort(key=lambda r: r.order)
    return out


@dataclass
class Copies:
    """The copies of one identity (earliest first), and what reconciliation may do with them."""

    all: list[PlatformRun]
    repository: Repository

    @property
    def keeper(self) -> PlatformRun:
        return self.all[0]  # the earliest is never deleted, whatever its state

    @property
    def removable(self) -> list[PlatformRun]:
        """Later live copies of this repository that have not started: deleting them loses no work."""
        return [r for r in self.all[1:] if not r.deleted and not r.started and self.repository.owns(r) is True]

    @property
    def started(self) -> list[PlatformRun]:
        """Later live copies that are not removable: they have started (or are not ours to judge)."""
        removable = self.removable
        return [r for r in self.all[1:] if not r.deleted and r not in removable]

    @property
    def conflict(self) -> bool:
        """Two or more live copies that no automatic step may reduce: a person decides."""
        return len(self.started) + (not self.keeper.deleted) >= 2


class Listing:
    """The platform's runs, newest first, fetched page by page only as far back as asked."""

    def __init__(self, submitter: Submitter, floor: datetime | None):
        self.submitter, self.floor = submitter, floor
        self.runs: list[PlatformRun] = []
        self.pages = 0
        self._handle = None
        self._done = False

    def _fetch(self) -> None:
        platform = self.submitter.platform
        if self._handle is None:
            got = self.submitter.retry(lambda: platform.first_page(self.floor))
        else:
            handle = self._handle
            got = self.submitter.retry(lambda: platform.next_page(handle))
        if got is None:
            self._done = True
            return
        runs, self._handle = got
        self.runs.extend(runs)
        self.pages += 1
        self._done = not runs or not self._handle.has_next_page

    def back_to(self, since: datetime | None) -> list[PlatformRun]:
        """Every run created since `since` (None: all of them down to the floor). The platform
        pages newest first, so the first page that reaches past `since` is the last one needed."""
        while not self._done and (since is None or not self.runs or self.runs[-1].created_at >= since):
            self._fetch()
        return self.runs

    def newest_first(self) -> Iterator[PlatformRun]:
        i = 0
        while True:
            while i >= len(self.runs) and not self._done:
                self._fetch()
            if i >= len(self.runs):
                return
            yield self.runs[i]
            i += 1


class Submitter:
    def __init__(self, platform: Platform | None, repository: Repository, since: datetime | None = None,
                 retry: RetryPolicy | None = None, is_ancestor: Callable[[str, str], bool] | None = None,
                 progress: Callable[[str], None] | None = _stderr):
        self.platform = platform
        self.repository = repository
        self.since = since  # the lookup start (see the module docstring); None: everything
        self.policy = retry or RetryPolicy()
        self.is_ancestor = is_ancestor or (lambda a, b: a == b)
        self.progress = progress or (lambda line: None)
        self.listed = 0  # runs read from the platform, over every listing
        self.pages = 0
        self._lock = threading.Lock()

    # ---- plumbing -------------------------------------------------------------------------
    def say(self, line: str) -> None:
        with self._lock:
            self.progress(f"runrepo submit: {line}")

    def _sleep(self, attempt: int) -> None:
        p = self.policy
        time.sleep(min(p.wait_cap, p.wait * 2**attempt) * random.uniform(0.5, 1.0))

    def retry(self, fn, attempts: int | None = None):
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

    def probe(self) -> None:
        """One cheap read: a wrong key, a wrong endpoint or a hung one fails here, in seconds. Only
        a platform that answers "busy" (429, 5xx) is asked again, like any call."""
        for attempt in range(self.policy.attempts):
            try:
                return self.platform.probe()
            except PlatformError as e:
                if e.kind == "timeout":
                    raise PlatformError("no-answer", f"{e} (probe, {self.platform.probe_timeout:g} s)") from None
                if e.kind != "transient" or attempt == self.policy.attempts - 1:
                    raise
                self._sleep(attempt)

    def listing(self, since: datetime | None = None) -> list[PlatformRun]:
        """A fresh listing back to `since` (default: the lookup start)."""
        since = since if since is not None else self.since
        found = Listing(self, since)
        runs = found.back_to(since)
        with self._lock:
            self.listed += len(runs)
            self.pages += found.pages
        return runs

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
    def run(self, selection: Selection, listing: list[PlatformRun] | None = None,
            hold: Callable[[list[Candidate]], dict[str, str]] | None = None) -> list[Outcome]:
        """Submit a selection. `listing` (already read back to the lookup start) skips probe and list;
        `hold(runs to create)` names (path -> reason) those the per-pull-request limit holds back."""
        outcomes = {c.path: static_outcome(c) for c in selection.candidates if c.decision != "submit"}
        todo = selection.to_submit
        if todo:
            outcomes.update(self._submit(todo, listing, hold or (lambda create: {})))
        return [outcomes[c.path] for c in selection.candidates]

    def _submit(self, todo: list[Candidate], listing: list[PlatformRun] | None,
                hold: Callable[[list[Candidate]], dict[str, str]]) -> dict[str, Outcome]:
        try:
            if listing is None:
                listing = self.connect()
        except PlatformError as e:
            return {c.path: fail(c, f"not submitted: {e}") for c in todo}
        out: dict[str, Outcome] = {}
        covered, pending = missing(todo, listing, self.repository, self.is_ancestor)
        for c in todo:
            cover = covered.get(c.path)
            if cover:
                out[c.path] = Outcome(c.path, "skipped", cover.name, cover.cluster, cover.gpus,
                                      f"already submitted from {cover.commit[:12]}, which has this file's last change; "
                                      "the expanded run changed since only through shared layers (a "
                                      "Runrepo-Resubmit trailer or a runrepo.rerun bump resubmits it)")
        blocked = hold(pending)
        for c in [c for c in pending if c.path in blocked]:
            out[c.path] = fail(c, f"not submitted: {blocked[c.path]}")
        pending = [c for c in pending if c.path not in blocked]
        # A training run waits for its data runs to complete: held, it stays missing (ordering.py)
        creating = {c.dataset for c in pending if c.dataset}
        waits = ordering.hold([(c.path, c.needs) for c in pending if c.needs], listing, self.repository, creating)
        for c in [c for c in pending if c.path in waits]:
            status, detail = waits[c.path]
            out[c.path] = Outcome(c.path, status, cluster=c.cluster, gpus=c.gpus, detail=detail)
            self.say(f"{c.path}: {detail}")
        pending = [c for c in pending if c.path not in waits]
        mine, errors, maybe = self._create_rounds(list(pending))
        for c in pending:
            if c.path in errors and c.path not in maybe:
                out[c.path] = fail(c, errors[c.path])
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
                    present = group(self.listing(), self.repository)
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
            index = group(listing if listing is not None else self.listing(), self.repository)
        except PlatformError as e:
            return {c.path: fail(c, f"submitted, but duplicates could not be checked: {e}; rerun to reconcile")
                    for c in submitted}
        sorted_copies = {c.path: Copies(index[c.identity], self.repository)
                         for c in submitted if index.get(c.identity)}
        doomed = sorted({r.name for s in sorted_copies.values() for r in s.removable})
        removed, problem = self._delete(doomed)
        return {c.path: self._outcome(c, sorted_copies.get(c.path), mine.get(c.path, set()), maybe, removed,
                                      problem, c.path in in_flight)
                for c in submitted}

    def _outcome(self, c: Candidate, copies: Copies | None, ours: set[str], maybe: dict[str, str],
                 removed: set[str], problem: str, in_flight: bool) -> Outcome:
        if copies is None:
            if c.path in maybe:
                return fail(c, maybe[c.path])
            return Outcome(c.path, "created" if ours else "failed", cluster=c.cluster, gpus=c.gpus,
                           detail="created, but not listed afterwards" if ours else "not found after submission")
        if c.path in maybe:
            ours = ours | {"?"}  # stored despite the lost answer
        keeper = copies.keeper
        o = Outcome(c.path, "existing", keeper.name, keeper.cluster, keeper.gpus)
        o.removed = [r.name for r in copies.removable if r.name in removed]
        left = [r.name for r in copies.removable if r.name not in removed]
        lost = [r.name for r in copies.all[1:] if r.uid in ours and r.deleted]  # removed by a racing submitter
        if copies.conflict:
            live = [r for r in copies.all if not r.deleted and r not in copies.removable]
            o.status = "duplicate"
            o.detail = (f"{len(live)} live copies of one run: {', '.join(f'{r.name} ({r.status})' for r in live)}. "
                        "A copy that has started is never removed automatically: stop the one to drop "
                        "(`mcli stop run NAME`)")
        elif left:
            o.status, o.detail = "failed", f"duplicate(s) {', '.join(left)} of {keeper.name} not removed: {problem}"
        elif o.removed or lost:
            o.status = "duplicate-removed"
            who = "ours" if keeper.uid in ours or "?" in ours else "created first by another submitter"
            o.detail = f"kept {keeper.name} ({who}); removed {', '.join(sorted(set(o.removed + lost)))}"
        elif ours:
            o.status = "created"
        elif keeper.deleted:
            live = [r for r in copies.all if not r.deleted]
            o.detail = (f"deleted on the platform; {live[0].name} is the live copy" if live else
                        "deleted on the platform; not resubmitted (bump runrepo.rerun to run it again)")
        if in_flight:
            o.status = "failed"
            o.detail = (f"kept {keeper.name}, but a create that got no answer is still in flight: "
                        "it may store another copy; rerun to reconcile")
        if o.status != "created":
            self.say(f"{c.path}: {o.status} {keeper.name}" + (f" ({o.detail})" if o.detail else ""))
        return o

    def _delete(self, names: list[str]) -> tuple[set[str], str]:
        """Delete copies that have not started; a name counts as removed once a listing shows it deleted."""
        if not names:
            return set(), ""
        problem = ""
        try:
            self.retry(lambda: self.platform.delete_unstarted(names))
        except PlatformError as e:
            problem = str(e)
        try:
            listing = self.listing()
        except PlatformError as e:
            return set(), problem or f"could not confirm the deletion: {e}"
        gone = {r.name for r in listing if r.deleted and r.name in names}
        if gone != set(names) and not problem:
            problem = "the platform did not delete them (started meanwhile, or another user's runs)"
        return gone, problem


def missing(todo: list[Candidate], listing: list[PlatformRun], repository: Repository,
            is_ancestor: Callable[[str, str], bool]):
    """Split the runs to submit by what the platform holds: (covered: path -> run, to create).

    Present (same identity, deleted or not) -> neither: reconciled and reported as existing.
    Covered: a run of this file (or of its earlier name, before a pure rename) was submitted from a
    commit that already had the file's last change on the branch (or the trailer asking for it), so
    the expanded run differs only through shared layers changed since, which must not resubmit it.
    This keeps an over-wide range (a caught-up dropped workflow, a backfill) harmless.
    """
    index = group(listing, repository)
    by_path: dict[str, list[PlatformRun]] = defaultdict(list)
    for r in listing:
        if repository.owns(r) is not False:
            by_path[r.path].append(r)
    covered: dict[str, PlatformRun] = {}
    create: list[Candidate] = []
    for c in todo:
        if c.identity in index:
            continue
        copies = [r for name in (c.path, *c.aliases) for r in by_path.get(name, [])]
        hits = [r for r in copies if r.commit and c.cause and is_ancestor(c.cause, r.commit)]
        if hits:
            covered[c.path] = max(hits, key=lambda r: r.order)
        else:
            create.append(c)
    return covered, create


def fail(c: Candidate, detail: str) -> Outcome:
    return Outcome(c.path, "failed", cluster=c.cluster, gpus=c.gpus, detail=detail)


def static_outcome(c: Candidate) -> Outcome:
    """A candidate's outcome decided without the platform (skipped, invalid, deleted)."""
    status = {"skip": "skipped", "invalid": "failed", "deleted": "deleted"}[c.decision]
    return Outcome(c.path, status, cluster=c.cluster, gpus=c.gpus, detail=c.reason)
