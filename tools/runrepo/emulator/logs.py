"""getRunLogsV2: a run's log as mcli 0.8.3 reads it, base64 chunks with the byte offset they end at.

mcli subscribes over a websocket (websocket.py) with {name, follow, failed, nodeRank, attemptIndex,
tail, offset, ...}; after a dropped connection it subscribes again from the last `endOffset`. Without
`follow` the log as it is now is sent and the subscription completes; with it, new text is sent as it
is written until the resumption has ended.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .catalog import api_error
from .lifecycle import refresh
from .runs import TERMINAL_STATUSES
from .state import StateStore

CHUNK = 64 * 1024
POLL = 0.05  # seconds between looks at a followed log


def _find(state: dict[str, Any], name: str) -> dict[str, Any]:
    run: dict[str, Any] | None = next((r for r in state["runs"] if r["name"] == name), None)
    if run is None:
        raise api_error(f"Run {name} not found", 404)
    return run


def _target(run: dict[str, Any], args: dict[str, Any]) -> tuple[int, int]:
    """(resumption index, node rank) the request asks for."""
    if args.get("localGpuRank") is not None or args.get("globalGpuRank") is not None:
        raise api_error("GPU rank logs are only available for runs using Composer or LLM Foundry", 400)
    count = len(run["resumptions"])
    attempt = args.get("attemptIndex")
    attempt = count - 1 if attempt is None else attempt
    if not 0 <= attempt < count:
        raise api_error(f"Run {run['name']} has {count} resumption(s): no resumption {attempt}", 400)
    nodes = int(run["resumptions"][attempt].get("nodes") or 1)
    rank = args.get("nodeRank")
    if rank is None and args.get("failed"):
        failed = [n["rank"] for n in run["details"].get("nodes") or [] if n["status"] == "FAILED"]
        rank = min(failed, default=0)
    rank = 0 if rank is None else rank
    if not 0 <= rank < nodes:
        raise api_error(f"Run {run['name']} has {nodes} node(s): node rank {rank} does not exist", 400)
    return attempt, rank


def _text(run: dict[str, Any], attempt: int, rank: int) -> bytes:
    text: str = ((run.get("logs") or {}).get(str(attempt)) or {}).get(str(rank), "")
    return text.encode()


def stream(store: StateStore, args: dict[str, Any], stopped: threading.Event | Callable[[], bool]
           ) -> Iterator[tuple[str, int]]:
    """(base64 chunk, end offset) for the log the arguments select; api_error for a bad request."""
    is_stopped = stopped.is_set if isinstance(stopped, threading.Event) else stopped
    run = _find(refresh(store), str(args.get("name") or ""))
    attempt, rank = _target(run, args)
    offset = max(0, int(args.get("offset") or 0))
    follow = bool(args.get("follow"))
    res = run["resumptions"][attempt]
    if not res.get("startTime") and not follow:
        raise api_error(f"Run {run['name']} has not started ({res['status']}): no logs yet", 400)
    tail = args.get("tail")
    if tail is not None and offset == 0:
        offset = max(0, len(_text(run, attempt, rank)) - int(tail))
    while not is_stopped():
        data = _text(run, attempt, rank)
        while offset < len(data):
            piece = data[offset:offset + CHUNK]
            offset += len(piece)
            yield base64.b64encode(piece).decode(), offset
        res = run["resumptions"][attempt]
        if not follow or res["status"] in TERMINAL_STATUSES:
            return
        time.sleep(POLL)
        run = _find(refresh(store), run["name"])
