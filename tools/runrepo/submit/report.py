"""What a submission did, as a table (text), JSON, GitHub annotations and a step-summary table."""

from __future__ import annotations

import json

from ..compose.render import dump
from ..report.escape import markdown as md
from ..report.escape import markdown_code, workflow_message, workflow_property
from ..rules.secrets import redact
from .engine import Outcome
from .select import Selection

COLUMNS = ("FILE", "PLATFORM RUN", "CLUSTER", "GPUS", "STATUS")


def _rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    return [(o.path, o.name or "-", o.cluster or "-", str(o.gpus or "-"), o.status) for o in outcomes]


def summary(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    order = ("created", "existing", "duplicate-removed", "would-submit", "waiting", "skipped", "deleted", "stopped",
             "duplicate", "failed")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) or "nothing to submit"


def text(selection: Selection, outcomes: list[Outcome]) -> str:
    head = f"range {selection.merge_base[:12]}..{selection.head[:12]}"
    if not outcomes:
        return f"{head}: no run file added, modified, renamed or deleted\n"
    rows = [COLUMNS, *_rows(outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [head]
    for r in rows:
        cells = [c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    notes = [f"{o.path}: {o.status}: {o.detail}" for o in outcomes if o.detail]
    return "\n".join([*lines, *notes, summary(outcomes)]) + "\n"


def as_json(selection: Selection, outcomes: list[Outcome]) -> str:
    data = {
        "base": selection.base,
        "merge_base": selection.merge_base,
        "head": selection.head,
        "ok": not any(o.failed for o in outcomes),
        "runs": [
            {"file": o.path, "run": o.name, "cluster": o.cluster, "gpus": o.gpus, "status": o.status,
             "detail": o.detail, "removed": o.removed}
            for o in outcomes
        ],
    }
    return json.dumps(data, indent=2) + "\n"


def github(selection: Selection, outcomes: list[Outcome]) -> str:
    """Workflow commands: an error per failed run, a notice per created one, then the table."""
    lines = []
    for o in outcomes:
        kind = {"failed": "error", "duplicate": "error", "created": "notice", "duplicate-removed": "warning",
                "stopped": "notice", "waiting": "notice"}.get(o.status)
        if kind:
            msg = o.detail or f"created {o.name} on {o.cluster} ({o.gpus} GPUs)"
            lines.append(f"::{kind} file={workflow_property(o.path)},title=runrepo submit::{workflow_message(msg)}")
    return "\n".join([*lines, text(selection, outcomes).rstrip("\n")]) + "\n"


def markdown(selection: Selection, outcomes: list[Outcome], dry_run: bool = False) -> str:
    """The GitHub step summary: one table row per run file."""
    title = "Runs that would be submitted (dry run)" if dry_run else "Submitted runs"
    lines = [f"### {title}", "", f"Range `{selection.merge_base[:12]}..{selection.head[:12]}`: "
             f"{summary(outcomes)}.", ""]
    if outcomes:
        lines += ["| File | Platform run | Cluster | GPUs | Status | Detail |", "|---|---|---|---:|---|---|"]
        for o in outcomes:
            lines.append(f"| {markdown_code(o.path)} | {md(o.name) or '–'} | {md(o.cluster) or '–'} | "
                         f"{o.gpus or '–'} | {o.status} | {md(o.detail)} |")
    return "\n".join(lines) + "\n"


def dry_run(selection: Selection) -> str:
    """Every run a submission would create, as YAML documents; runs already present are then skipped."""
    docs = []
    for c in selection.to_submit:
        docs.append(f"# {c.path} ({c.kind}): submitted unless {c.digest[:19]} is already on the platform\n"
                    + dump(redact(c.run)))
    return "---\n".join(docs)
