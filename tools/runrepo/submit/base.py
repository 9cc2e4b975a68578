"""`--base auto`: where the last submission got to, read from the platform itself.

GitHub keeps one pending workflow run per concurrency group and cancels older pending ones, so
`github.event.before` of the run that does execute can skip a push whose run was dropped. The range
must instead start where the last *completed* submission ended. That is recorded on the platform:
every run runrepo creates carries `runrepo_commit` (the head it was submitted from) and
`runrepo_base` (the base of that range). Reading it needs no permission beyond the API key the
job already has, and a pull request cannot write it. So:

  h = the newest `runrepo_commit` in head's history among this repository's runs;
  if every run the range base(h)..h asks for is on the platform (or covered), base = h;
  otherwise that submission was cut short (killed, timed out): base = base(h), so it is finished now.

The platform is read newest first and only as far back as needed: no run of this repository can be
older than its first commit. A merge that created nothing leaves no mark, so the next range starts
earlier than strictly needed; that is harmless: identity skips what exists and the cover rule
(engine.missing) skips runs whose own change was already submitted. With no run of this history
at all, the fallback base is used (the workflow passes `github.event.before`, or the dispatch input).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import RunrepoError
from ..git import ZERO, Git
from .engine import Listing, missing
from .platform import PlatformRun, Repository
from .select import CLOCK_SKEW, lookup_start, select


def _submitted_from(git: Git, listing: Listing, repository: Repository,
                    history: dict[str, int]) -> list[PlatformRun]:
    """This repository's runs from the newest submitted commit of `history` (all of its reruns)."""
    first = next((r for r in listing.newest_first() if repository.owns(r) is not False and r.commit in history),
                 None)
    if first is None:
        return []
    # Runs of one commit were created after it existed; a later rerun from an older head (a
    # backfill) is newer on the platform but older in history: read back far enough to see both.
    git_time = datetime.fromtimestamp(git.commit_time(first.commit), timezone.utc)
    ours = [r for r in listing.back_to(min(first.created_at, git_time) - CLOCK_SKEW)
            if repository.owns(r) is not False and r.commit in history]
    newest = min(ours, key=lambda r: history[r.commit]).commit
    return [r for r in ours if r.commit == newest]


def auto_base(git: Git, head: str, listing: Listing, repository: Repository,
              fallback: str | None) -> tuple[str, str]:
    """(base, why) for a submission of `head`, from what the platform holds."""
    history = git.history(head)
    last = _submitted_from(git, listing, repository, history)
    if not last:
        if fallback is None:
            raise RunrepoError("usage", "--base auto: no run of this repository was submitted from this history; "
                                        "give --fallback-base")
        return fallback, "no run of this repository was submitted from this history: the fallback base"
    newest = last[0].commit
    # Reruns of one head may have used different bases: the oldest covers them all.
    bases = {r.base or ZERO for r in last}
    base = max(bases, key=lambda b: len(history) if b == ZERO else history.get(b, -1))
    # Also when newest is head itself: a rerun after a killed submission must finish it.
    selection = select(git.repo, base, newest, repository)
    since = lookup_start(git, newest, [c.path for c in selection.to_submit])
    runs = listing.back_to(since) if since is not None else []
    _, create = missing(selection.to_submit, runs, repository, git.is_ancestor)
    if create:
        return base, (f"the submission of {newest[:12]} is incomplete ({len(create)} run(s) missing): "
                      f"its base {base[:12]}")
    return newest, f"last submitted commit {newest[:12]}"
