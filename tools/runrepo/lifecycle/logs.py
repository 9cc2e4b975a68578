"""`runrepo logs PATH`: the log of a run file's newest run, through mcli's log API.

The run is found by identity in one listing (this repository's runs of that file, newest first):
the newest live one, else the newest that has ended. A run that has not started has no log yet:
that is said in one line; with `follow`, the run is looked at every `poll` seconds until it starts
(a line whenever its status changes), then its log is followed until it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import EXIT_USAGE
from ..submit.engine import Submitter
from ..submit.platform import PlatformRun
from .live import Live

TERMINAL = ("COMPLETED", "FAILED", "STOPPED")


@dataclass
class Pick:
    run: PlatformRun | None
    why: str  # one line for stderr


def pick(live: Live, path: str) -> Pick:
    runs = [r for r in live.of(path) if not r.deleted]
    if not runs:
        return Pick(None, f"{path} has no platform run of this repository (`runrepo status {path}` says why)")
    current = next((r for r in runs if r.live), None)
    if current is not None:
        return Pick(current, f"{current.name} ({current.status}, created {current.created_at:%Y-%m-%d %H:%M} UTC)")
    r = runs[0]
    ended = f", ended {r.ended_at:%Y-%m-%d %H:%M} UTC" if r.ended_at else ""
    return Pick(r, f"{r.name} ({r.status}{ended}): no live run, the newest run's log")


def wait_for_start(sub: Submitter, run: PlatformRun, poll: float, say: Callable[[str], None]) -> PlatformRun:
    """Look at the run every `poll` s until it has started or ended."""
    seen = ""
    while run.started_at is None and run.status.upper() not in TERMINAL:
        if run.status != seen:
            say(f"{run.name} has not started yet ({run.status}): waiting for it")
            seen = run.status
        time.sleep(poll)
        run = sub.retry(lambda name=run.name: sub.platform.get(name)) or run
    return run


def write(pieces, out=None) -> int:
    """Copy the log to stdout as it arrives; the bytes written."""
    out = out or sys.stdout
    n = 0
    for piece in pieces:
        out.write(piece)
        out.flush()
        n += len(piece)
    return n


def show(sub: Submitter, run: PlatformRun, rank: int | None, follow: bool, poll: float,
         say: Callable[[str], None]) -> int:
    """Print the log (following it if asked); the exit code."""
    if run.started_at is None and run.status.upper() not in TERMINAL:
        if not follow:
            say(f"{run.name} has not started yet ({run.status}): no logs yet; `runrepo logs --follow` waits for it")
            return 0
        run = wait_for_start(sub, run, poll, say)
    if run.started_at is None:
        say(f"{run.name} ended ({run.status}) without starting: it has no log"
            + (f" ({run.reason})" if run.reason else ""))
        return 1 if run.status.upper() == "FAILED" else 0
    if rank is not None and run.nodes and not 0 <= rank < run.nodes:
        say(f"error[usage] {run.name} runs on {run.nodes} node(s): --rank 0 to {run.nodes - 1}")
        return EXIT_USAGE
    failed = run.status.upper() == "FAILED" and rank is None and not follow
    if failed:
        say(f"{run.name} failed" + (f" ({run.reason})" if run.reason else "") + ": the log of its first failed node")
    write(sub.platform.logs(run.name, rank, follow=follow and run.status.upper() not in TERMINAL, failed=failed))
    return 0
