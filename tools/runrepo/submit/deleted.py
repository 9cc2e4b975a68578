"""A merged range that deletes run files: name their platform runs, and stop them if the policy says so.

runs/policy.yaml `on_delete` (read at the BASE commit, like every limit):
- `report` (the default): nothing is stopped; the row names the live runs and how to stop them;
- `stop`: the live runs of the deleted file that are certainly this repository's are stopped and
  named (status `stopped`). Every run of that file counts, whatever its digest: with the file gone,
  none of its versions is declared any more.

Never touched: another repository's runs (even of an identical file at the same path), runs recorded
without a repository (older runrepo: who knows whose), runs that are deleted or have ended. The stop
itself filters on the live states too, so a run that ended after the listing is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from ..changes.decide import DELETED
from ..validate import policy as policy_file
from .engine import Outcome, Submitter
from .platform import PlatformError, PlatformRun, Repository
from .select import Selection

REASON = "runrepo: its run file was deleted (runs/policy.yaml on_delete: stop)"


def _names(runs: list[PlatformRun]) -> str:
    return ", ".join(f"{r.name} ({r.status})" for r in runs)


def live_runs(runs: list[PlatformRun], path: str, repository: Repository) -> tuple[list[PlatformRun], list[PlatformRun]]:
    """(this repository's live runs of `path`, live runs of it recorded without a repository)."""
    mine = [r for r in runs if r.path == path and r.live and repository.owns(r) is True]
    unknown = [r for r in runs if r.path == path and r.live and repository.owns(r) is None]
    return mine, unknown


def settle(selection: Selection, outcomes: list[Outcome], read: Callable[[], tuple[Submitter, list[PlatformRun]]],
           repository: Repository, notes: list[str]) -> list[Outcome]:
    """The deleted rows of a submission, with their platform runs named (and stopped under `stop`).

    `read()` gives the submission's listing; it is called only when the range deletes a run file."""
    rows = [o for o, c in zip(outcomes, selection.candidates, strict=True) if c.decision == DELETED]
    if not rows:
        return outcomes
    stop = policy_file.on_delete(selection.policy) == "stop"
    try:
        sub, runs = read()
    except PlatformError as e:
        for o in rows:
            if stop:
                o.status, o.detail = "failed", f"not stopped (on_delete: stop): the platform could not be read: {e}"
            else:
                o.detail = f"{o.detail}; its platform runs are not named: the platform could not be read ({e})"
        return outcomes
    for o in rows:
        mine, unknown = live_runs(runs, o.path, repository)
        o.name = ", ".join(r.name for r in mine)
        extra = (f"; not touched, recorded without a repository: {_names(unknown)}" if unknown else "")
        if not mine:
            o.detail = "no live run of this repository" + extra
        elif not stop:
            o.detail = (f"still live, not stopped (runs/policy.yaml on_delete: report): {_names(mine)}; "
                        f"stop with `mcli stop run {mine[0].name}`" + extra)
        else:
            _stop(sub, o, mine, extra, notes)
    return outcomes


def _stop(sub: Submitter, o: Outcome, mine: list[PlatformRun], extra: str, notes: list[str]) -> None:
    names = [r.name for r in mine]
    try:
        stopped = sub.retry(lambda: sub.platform.stop_live(names, REASON))
    except PlatformError as e:
        o.status, o.detail = "failed", f"not stopped (on_delete: stop): {e}: {_names(mine)}" + extra
        return
    o.status = "stopped"
    o.name = ", ".join(sorted(stopped))
    ended = [r for r in mine if r.name not in stopped]
    o.detail = (f"stopped {_names([r for r in mine if r.name in stopped])} (on_delete: stop)"
                + (f"; ended meanwhile: {', '.join(r.name for r in ended)}" if ended else "") + extra)
    notes.append(f"{o.path}: deleted: stopped {o.name}")
