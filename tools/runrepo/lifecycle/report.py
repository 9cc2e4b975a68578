"""`runrepo status` as a terminal table, JSON, and a job-summary table (markdown)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

from ..report.escape import markdown as md
from ..report.escape import markdown_code
from ..submit.platform import PlatformRun
from .status import FileStatus, Report


def when(t: datetime | None) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if t else "-"


def elapsed_hours(r: PlatformRun, now: datetime | None = None) -> float | None:
    if r.started_at is None:
        return None
    return ((r.ended_at or now or datetime.now(timezone.utc)) - r.started_at).total_seconds() / 3600


def duration(hours: float | None) -> str:
    if hours is None:
        return "-"
    minutes = int(round(hours * 60))
    if minutes < 1:
        return f"{int(hours * 3600)}s"
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    return f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m"


def budget(r: PlatformRun, f: FileStatus) -> float | None:
    """The run's own bound (what the platform enforces), else the file's."""
    return r.gpus * r.max_duration if r.gpus and r.max_duration else f.budget


def used(r: PlatformRun, f: FileStatus) -> str:
    b = budget(r, f)
    return f"{r.gpu_hours:,.1f} / {b:,.0f}" if b else f"{r.gpu_hours:,.1f} / -"


def summary(rep: Report) -> str:
    counts = Counter(f.state for f in rep.files)
    parts = [f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    problems = sum(f.problem for f in rep.files)
    text = f"{len(rep.files)} run file(s): " + (", ".join(parts) or "none")
    return text + (f"; {problems} need attention" if problems else "")


def platform_line(rep: Report) -> str:
    if rep.error:
        return f"platform not read: {rep.error}"
    live = rep.live
    return (f"read {len(live.runs)} platform run(s) created since {when(live.since)} UTC in one listing "
            f"({live.pages} page(s), {live.seconds:.2f} s)")


COLUMNS = ("FILE", "RUN", "STATUS", "CREATED", "STARTED", "ENDED", "ELAPSED", "GPU-H USED/BUDGET", "CLUSTER")


def _row(f: FileStatus) -> tuple[str, ...]:
    if not f.runs:
        return (f.path, "-", f.state, "-", "-", "-", "-", "-", "-")
    r = f.runs[0]
    more = f" (+{len(f.runs) - 1})" if len(f.runs) > 1 else ""
    return (f.path, r.name + more, f.state, when(r.created_at), when(r.started_at), when(r.ended_at),
            duration(elapsed_hours(r)), used(r, f), r.cluster or "-")


def text(rep: Report) -> str:
    rows = [COLUMNS, *(_row(f) for f in rep.files)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [f"head {rep.head[:12]}, repository {rep.repository or '-'}"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"{f.path}: {f.note}" for f in rep.files if f.note]
    lines += [f"{f.path}: reads data: {data_line(f)}" for f in rep.files if f.data]
    lines += [summary(rep), platform_line(rep)]
    return "\n".join(lines) + "\n"


def data_line(f: FileStatus) -> str:
    """The data runs a training run reads and where each is: `wiki_gpt2 (ready: data-wiki-gpt2-x completed)`."""
    return ", ".join(f"{s.need.name} ({s.state}: {s.words})" for s in f.data)


def _run(r: PlatformRun, f: FileStatus) -> dict:
    return {"name": r.name, "status": r.status, "deleted": r.deleted, "created": r.created_at.isoformat(),
            "started": r.started_at.isoformat() if r.started_at else None,
            "ended": r.ended_at.isoformat() if r.ended_at else None, "elapsed_hours": elapsed_hours(r),
            "gpu_hours": r.gpu_hours, "budget_gpu_hours": budget(r, f), "cluster": r.cluster, "gpus": r.gpus,
            "reason": r.reason, "digest": r.digest, "commit": r.commit, "path": r.path,
            "repository": r.repository or None}


def as_json(rep: Report) -> str:
    live = rep.live
    data = {
        "head": rep.head, "repository": rep.repository, "last_submitted": rep.last_submitted or None,
        "ok": rep.exit_code == 0, "summary": summary(rep),
        "platform": {"error": rep.error or None, "listed": len(live.runs) if live else 0,
                     "pages": live.pages if live else 0, "seconds": live.seconds if live else 0,
                     "since": live.since.isoformat() if live and live.since else None},
        "files": [{"file": f.path, "state": f.state, "problem": f.problem, "current": f.current, "orphan": f.orphan,
                   "note": f.note, "budget_gpu_hours": f.budget, "runs": [_run(r, f) for r in f.runs],
                   "data": [{"name": s.need.name, "file": s.need.file, "dataset": s.need.dataset, "state": s.state,
                             "detail": s.words} for s in f.data]}
                  for f in rep.files],
    }
    return json.dumps(data, indent=2) + "\n"


def markdown(rep: Report) -> str:
    """The job summary of the scheduled status workflow: one row per run file."""
    lines = ["### Run status", "", f"Head `{rep.head[:12]}`: {md(summary(rep))}. {md(platform_line(rep))}.", ""]
    if rep.files:
        lines += ["| File | Run | Status | Created | Started | Ended | Elapsed | GPU-hours used / budget | Cluster | Note |",
                  "|---|---|---|---|---|---|---:|---:|---|---|"]
        for f in rep.files:
            _, run, state, created, started, ended, elapsed, gpu, cluster = _row(f)
            state = f"**{state}**" if f.problem else state
            note = "; ".join(x for x in (f.note, f"reads data: {data_line(f)}" if f.data else "") if x)
            lines.append(f"| {markdown_code(f.path)} | {md(run)} | {state} | {created} | {started} | {ended} | "
                         f"{elapsed} | {gpu} | {md(cluster)} | {md(note)} |")
    return "\n".join(lines) + "\n"


FORMATS = {"text": text, "json": as_json, "markdown": markdown}
