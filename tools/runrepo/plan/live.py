"""The platform next to the plan: the live runs that merging affects (lifecycle.drift fills them in).

Only rendering here; a plan without platform data renders exactly as before.
"""

from __future__ import annotations

from ..report.escape import markdown as esc
from ..report.escape import markdown_code as code
from .plan import Plan, RunPlan


def live_cell(r: RunPlan) -> str:
    """The table's action cell names a deleted file's live runs."""
    if r.action != "deleted" or not r.live:
        return ""
    return ": " + ", ".join(esc(x["name"]) for x in r.live)


def live_lines(r: RunPlan) -> list[str]:
    lines = [f"   reads data: {n['name']} ({n['file']}): {n['state']}" for n in r.needs]
    return lines + ([f"   platform: {r.live_note}"] if r.live_note else [])


def data_block(p: Plan) -> list[str]:
    """The data runs the training runs read, and where each stands: merging submits a run only once they
    have completed on the platform."""
    rows = [(r, n) for r in p.runs for n in r.needs]
    if not rows:
        return []
    out = ["#### Data the runs read", ""]
    out += [f"- {code(r.path)} reads {code(n['name'])} ({code(n['file'])}): {esc(n['state'])}" for r, n in rows]
    return out + [""]


def live_block(p: Plan) -> list[str]:
    rows = [r for r in p.runs if r.live_note]
    if not rows and not p.platform:
        return []
    out = ["#### On the platform now", ""]
    if p.platform:
        out += [esc(p.platform), ""]
    out += [f"- {code(r.path)}: {esc(r.live_note)}" for r in rows]
    return out + ([""] if rows else [])
