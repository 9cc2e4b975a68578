"""One submission, start to end: which range (given, or `auto` from the platform), what it selects,
and what the platform then holds. The command (commands/submit.py) only parses and reports.

The platform is opened at most once, and only when something needs it: a dry run of a given range
never imports mcli. Without `--base auto`, the platform is probed and listed while the runs
compose (the look-up start follows from git alone).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..changes.detect import changes
from ..compose.dataprep import DATA_DIR
from ..compose.layers import GitSource
from ..errors import RunrepoError
from ..git import Git, is_zero
from . import deleted
from .budget import held_back
from .engine import Listing, Outcome, RetryPolicy, Submitter, fail, static_outcome
from .platform import PlatformError, Repository
from .select import CLOCK_SKEW, Selection, lookup_start, select

AUTO = "auto"


@dataclass
class Request:
    repo: Path
    base: str  # a revision, all zeros (every run at head) or "auto"
    head: str
    repository: Repository
    fallback: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 60.0
    lookback: timedelta | None = None  # only ever widens the look-up
    dry_run: bool = False


@dataclass
class Result:
    selection: Selection
    outcomes: list[Outcome]
    notes: list[str] = field(default_factory=list)  # what the command says on stderr
    listed: int = 0  # platform runs read
    pages: int = 0
    since: datetime | None = None


def _say(line: str) -> None:
    print(f"runrepo submit: {line}", file=sys.stderr, flush=True)


class _Platform:
    """The platform side of one submission: opened on first use, inside an mcli session."""

    def __init__(self, stack: contextlib.ExitStack, req: Request, git: Git):
        self.stack, self.req, self.git = stack, req, git
        self.submitter: Submitter | None = None

    def open(self, since: datetime | None) -> Submitter:
        if self.submitter is None:
            from .platform import Platform, mcli_session

            self.stack.enter_context(mcli_session(self.req.retry.concurrency + 4))
            platform = Platform(timeout=self.req.timeout, probe_timeout=min(10.0, self.req.timeout))
            self.submitter = Submitter(platform, self.req.repository, since, self.req.retry, self.git.is_ancestor)
        self.submitter.since = since
        return self.submitter


def submit(req: Request) -> Result:
    git = Git(req.repo)
    head = git.commit(req.head, "--head")
    if req.base != AUTO and not is_zero(req.base):
        git.commit(req.base, "--base")
    if req.fallback and not is_zero(req.fallback):
        git.commit(req.fallback, "--fallback-base")
    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        side = _Platform(stack, req, git)
        base, listing, error = req.base, None, None
        if req.base == AUTO:  # reads the platform, even for --dry-run (reading writes nothing)
            _need_repository(req)
            base, listing, error = _auto(side, git, head, req)
        rc = changes(req.repo, base, head)
        # Every run the range could submit, before composing: the look-up start follows from git. With
        # them, every data run at head: a training run's data may be older than it (ordering.py).
        maybe = [r.path for r in rc.runs if r.kind in ("added", "modified", "renamed", "deleted") or r.resubmit]
        maybe += GitSource.at(git.repo, head).files(DATA_DIR) if maybe else []
        since = lookup_start(git, head, maybe, req.lookback)
        early = None
        named = bool(req.repository.name or req.repository.id)
        if not req.dry_run and named and error is None and since is not None and listing is None:
            early = side.open(since).platform.pool.submit(side.submitter.connect)  # while the runs compose
        selection = select(git.repo, rc.base_rev, rc.head, req.repository, rc)
        if not req.dry_run and selection.to_submit:
            _need_repository(req)
        if req.dry_run or not selection.to_submit or error is not None:
            outcomes = _offline(selection, None if req.dry_run else error)
            if not req.dry_run and named:  # deleted files: their runs named, or stopped
                outcomes = deleted.settle(selection, outcomes, lambda: _read(side, since, listing, early, error),
                                          req.repository, notes)
            return Result(selection, outcomes, notes, since=since)
        sub = side.open(since)
        try:
            runs = listing.back_to(since) if listing is not None else early.result()
        except PlatformError as e:
            return Result(selection, _offline(selection, e), notes, since=since)
        outcomes = sub.run(selection, runs, lambda create: held_back(git, rc.range, selection.policy, create))
        outcomes = deleted.settle(selection, outcomes, lambda: (sub, runs), req.repository, notes)
        listed = sub.listed + (len(listing.runs) if listing is not None else 0)
        notes.append(f"looked up {listed} platform run(s) created since {since:%Y-%m-%d %H:%M} UTC "
                     f"({sub.pages + (listing.pages if listing is not None else 0)} page(s))")
        return Result(selection, outcomes, notes, listed, sub.pages, since)


def _read(side: _Platform, since: datetime | None, listing: Listing | None, early, error: PlatformError | None):
    """(submitter, listing) for a range that creates nothing: what was read already, else one read now."""
    if error is not None:  # --base auto could not read the platform: neither can this
        raise error
    sub = side.open(since)
    if listing is not None:
        return sub, listing.back_to(since)
    return sub, early.result() if early is not None else sub.connect()


def _need_repository(req: Request) -> None:
    if not (req.repository.name or req.repository.id):
        raise RunrepoError("usage", "submit needs to know this repository: --repository OWNER/NAME (in GitHub "
                                    "Actions, $GITHUB_REPOSITORY and $GITHUB_REPOSITORY_ID say it)")


def _auto(side: _Platform, git: Git, head: str, req: Request):
    """(base, listing, error) for --base auto; on a platform error, the fallback range (or a usage error)."""
    from .base import auto_base

    floor = datetime.fromtimestamp(git.root_time, timezone.utc) - CLOCK_SKEW
    sub = side.open(floor)
    listing = Listing(sub, floor)
    try:
        sub.probe()
        base, why = auto_base(git, head, listing, req.repository, req.fallback)
    except PlatformError as e:
        _say(f"--base auto needs the platform: {e}")
        if req.fallback is None:
            raise RunrepoError("platform", f"--base auto needs the platform: {e}") from None
        return req.fallback, None, e
    _say(f"base {base[:12]}: {why}")
    return base, listing, None


def _offline(selection: Selection, error: PlatformError | None) -> list[Outcome]:
    """Outcomes without creating anything: every run to submit fails with `error`, or would be submitted."""
    out = []
    for c in selection.candidates:
        if c.decision != "submit":
            out.append(static_outcome(c))
        elif error is not None:
            out.append(fail(c, f"not submitted: {error}"))
        else:
            after = ", ".join(n.name for n in c.needs)
            out.append(Outcome(c.path, "would-submit", cluster=c.cluster, gpus=c.gpus,
                               detail=f"once its data has completed on the platform: {after}" if after else ""))
    return out
