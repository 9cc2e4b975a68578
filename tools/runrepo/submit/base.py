"""`--base auto`: where the last submission got to, read from the platform itself.

GitHub keeps one pending workflow run per concurrency group and cancels older pending ones, so
`github.event.before` of the run that does execute can skip a push whose run was dropped. The range
must instead start where the last *completed* submission ended. That is recorded on the platform:
every run runrepo creates carries `runrepo_commit` (the head it was submitted from) and
`runrepo_base` (the base of that range). Reading it needs no permission beyond the API key the
job already has, and a pull request cannot write it. So:

  h = the newest `runrepo_commit` (in head's history) among runs in the look-up window;
  if every run the range base(h)..h asks for is on the platform (or covered), base = h;
  otherwise that submission was cut short (killed, timed out): base = base(h), so it is finished now.

A merge that created nothing leaves no mark, so the next range starts earlier than strictly needed;
that is harmless: identity skips what exists and the cover rule (engine.missing) skips runs whose
own edit was already submitted. With no runrepo run in the window, the fallback base is used (the
workflow passes `github.event.before`, or the dispatch input).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RunrepoError
from ..plan.changes import ZERO
from .engine import missing
from .plan import Ancestry, select
from .platform import PlatformRun

AUTO = "auto"


def auto_base(repo: Path | str, head: str, listing: list[PlatformRun], fallback: str | None,
              policy: dict | None = None, window_days: float = 30) -> tuple[str, str]:
    """(base, why) for a submission of `head`, from what the platform holds."""
    ancestry = Ancestry(repo)
    history = ancestry.history(head)
    ours = [r for r in listing if r.commit in history]
    if not ours:
        if fallback is None:
            raise RunrepoError("usage", f"--base auto: no run submitted from this history in the last "
                                        f"{window_days:g} days; give --fallback-base")
        return fallback, f"no run submitted from this history in the last {window_days:g} days: fallback base"
    newest = min(ours, key=lambda r: history[r.commit]).commit
    # Reruns of one head may have used different bases: the oldest covers them all.
    bases = {r.base or ZERO for r in ours if r.commit == newest}
    base = max(bases, key=lambda b: len(history) if b == ZERO else history.get(b, -1))
    # Also when newest is head itself: a rerun after a killed submission must finish it.
    selection, _ = select(repo, base, newest, policy)
    _, create = missing(selection.to_submit, listing, ancestry)
    if create:
        return base, (f"the submission of {newest[:12]} is incomplete ({len(create)} run(s) missing): "
                      f"its base {base[:12]}")
    return newest, f"last submitted commit {newest[:12]}"
