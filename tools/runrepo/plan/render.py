"""A Plan rendered: as a pull-request comment (markdown), as terminal text, and as JSON.

The markdown must fit one GitHub comment (65,535 characters). What a reviewer cannot do
without comes first and is never cut: the summary table of every run and the totals. Then
findings, then diffs, each within what is left; whatever is cut says so and how to see it.
"""

from __future__ import annotations

import json

from ..findings import ERROR
from ..git import EMPTY_TREE
from ..report.escape import markdown as esc
from ..report.escape import markdown_code as code
from ..report.escape import markdown_fence as fence
from .group import before, groups
from .live import data_block, live_block, live_cell, live_lines
from .plan import Plan, RunPlan

MARKER = "<!-- runrepo-plan -->"  # the workflow finds and updates its one sticky comment by this
LIMIT = 65_535  # GitHub's maximum comment body
TAIL_RESERVE = 600  # room for the closing notes
DIFF_MAX_LINES = 400  # a single diff longer than this is cut (an added NeMo 2.0 run is ~330 lines)
DIFF_MIN_CHARS = 1_500  # do not start a diff in less room than this


def size(text: str) -> int:
    """Characters as GitHub may count them (UTF-16 units): never less than len()."""
    return len(text.encode("utf-16-le")) // 2


def num(x: float | int | None, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.1f}{unit}"
    return f"{int(x):,}{unit}"


def memory_cell(m: dict | None, compact: bool = False) -> str:
    """The estimate's verdict, whatever exact keys estimate_run returns (it is another module's)."""
    if not m:
        return "-"
    if set(m) == {"error"}:
        return "n/a"
    if compact and isinstance(m.get("fits"), bool):
        return "fits" if m["fits"] else "**OOM**"
    for key in ("summary", "verdict", "text"):
        if isinstance(m.get(key), str):
            return esc(m[key])[:60]
    peak = next((m[k] for k in ("peak_gib", "total_gib", "per_gpu_gib") if isinstance(m.get(k), (int, float))), None)
    if peak is None and isinstance(m.get("peak_mib"), (int, float)):
        peak = m["peak_mib"] / 1024
    fits = m.get("fits")
    verdict = "" if fits is None else ("fits" if fits else "**OOM**")
    return " ".join(p for p in (f"{peak:.1f} GiB" if peak is not None else "", verdict) if p) or "-"


def findings_cell(r: RunPlan) -> str:
    if not r.findings:
        return "ok"
    parts = [f"{r.errors} error{'s' * (r.errors != 1)}"] if r.errors else []
    if r.warnings:
        parts.append(f"{r.warnings} warning{'s' * (r.warnings != 1)}")
    return ("**" + ", ".join(parts) + "**") if r.errors else ", ".join(parts)


def changed(r: RunPlan, key: str, show, arrow: str = " &rarr; ", was: dict | None = None) -> str:
    """A table cell: the value at head, or `before -> after` when the base had another."""
    now = getattr(r, key)
    was = before(r) if was is None else was
    old = was.get(key, now)
    return f"{show(old)}{arrow}{show(now)}" if was and old != now else show(now)


def _sha(sha: str) -> str:
    return "(empty tree)" if not sha or sha == EMPTY_TREE else sha[:7]


def headline(p: Plan) -> list[str]:
    t = p.totals
    hours = num(t.gpu_hours) + (f" + {t.unbounded} unbounded" if t.unbounded else "")
    lines = [
        MARKER,
        f"### runrepo plan: {t.runs} run{'s' * (t.runs != 1)} to submit, {num(t.gpus)} GPUs, {hours} GPU-hours",
        "",
        f"Compared head `{_sha(p.head)}` ({esc(p.head_subject)}) with base `{_sha(p.base)}` "
        f"({esc(p.base_subject)}), the merge base with {code(p.base_rev)}. Both sides are composed from git.",
        "",
    ]
    for f in p.pr_findings:
        lines += [f"**Over the limit:** {esc(f.message)} ({code(f'{f.file}:{f.line}')})", ""]
    if p.blocked:
        names = ", ".join(code(r.path) for r in p.blocked[:10]) + (" ..." if len(p.blocked) > 10 else "")
        lines += [f"**Blocked:** {len(p.blocked)} run(s) to submit have errors: {names}", ""]
    elif not p.runs:
        lines += ["This pull request changes no run.", ""]
    return lines


def table(p: Plan, compact: bool = False) -> list[str]:
    """Every run, always complete. `compact` drops the runs/experiments/ prefix to save room."""
    mem = p.estimate
    head = ["Run", "Action", "Cluster", "GPU type", "Nodes", "GPUs", "Max h", "GPU-hours"]
    head += ["Memory"] if mem else []
    head += ["Findings"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def short(path: str) -> str:
        return path.removeprefix("runs/experiments/").removesuffix(".yaml") if compact else path

    for r in p.runs:
        name = code(short(r.path))
        if r.old_path:
            name = f"{code(short(r.old_path))} &rarr; {name}"
        label = (f"**{r.label}**" if r.submitted else r.label) + live_cell(r)
        was = before(r)
        cells = [
            name,
            label,
            changed(r, "cluster", lambda v: esc(str(v or "-")), was=was),
            changed(r, "gpu_type", lambda v: esc(str(v or "-")), was=was),
            changed(r, "nodes", num, was=was),
            changed(r, "gpus", num, was=was),
            changed(r, "max_duration", num, was=was),
            changed(r, "gpu_hours", num, was=was),
        ]
        cells += [memory_cell(r.memory, compact)] if mem else []
        cells += [findings_cell(r)]
        rows.append("| " + " | ".join(cells) + " |")
    t = p.totals
    total = [f"**Total to submit: {t.runs}**", "", "", "", "", f"**{num(t.gpus)}**", "", f"**{num(t.gpu_hours)}**"]
    total += [""] if mem else []
    total += [""]
    rows.append("| " + " | ".join(total) + " |")
    if compact:
        rows.append("")
        rows.append("Run names are files under `runs/experiments/` (shortened to fit the comment).")
    return rows


def notes(p: Plan) -> list[str]:
    out = []
    if p.shared:
        files = ", ".join(code(s["path"]) for s in p.shared[:20]) + (" ..." if len(p.shared) > 20 else "")
        n = sum(r.change == "affected" for r in p.runs)
        out.append(
            f"Shared files changed: {files}. {n} dependent run(s) were re-planned and checked; they are "
            "not resubmitted unless a commit carries a `Runrepo-Resubmit: <path or glob>` trailer."
        )
    if any(r.action == "deleted" for r in p.runs):
        out.append("Deleting a run file does not stop its platform run: stop it with `mcli stop run NAME`.")
    return [line for n in out for line in (n, "")]


def findings_block(p: Plan) -> list[str]:
    """Every finding once; a shared layer's finding says how many runs it hits."""
    seen: dict[tuple, list] = {}
    for r in p.runs:
        for f in r.findings:
            seen.setdefault((f.file, f.line, f.col, f.rule, f.severity, f.message), [f, set()])[1].add(r.path)
    for f in p.shared_findings + p.pr_findings:
        seen.setdefault((f.file, f.line, f.col, f.rule, f.severity, f.message), [f, set()])
    ordered = sorted(seen.values(), key=lambda v: (v[0].severity != ERROR, v[0].file, v[0].line, v[0].rule))
    lines = []
    for f, runs in ordered:
        where = f"{f.file}:{f.line}:{f.col}" if f.line else f.file
        hits = f" ({len(runs)} runs)" if len(runs) > 1 else ""
        lines.append(f"- {code(where)} **{f.severity}**[{esc(f.rule)}] {esc(f.message)}{hits}")
    return lines


def _folded(members: list[RunPlan], room: int) -> str:
    """The runs sharing a diff, folded in their own <details>, cut to about `room` characters."""
    lines, used = [], 0
    for i, m in enumerate(members):
        line = f"- {code(m.path)}: {esc(m.label)}"
        if used + size(line) > room:
            lines.append(f"- _... and {len(members) - i} more: `runrepo plan --format text` lists them all_")
            break
        lines.append(line)
        used += size(line) + 1
    return f"<details><summary>the {len(members)} runs</summary>\n\n" + "\n".join(lines) + "\n\n</details>\n\n"


def diff_block(r: RunPlan, room: int, open_: bool, base: str = "<base>", members: list | None = None) -> str | None:
    """One diff in <details>, cut to `room` characters with a visible note; None if it cannot fit.
    With `members` (runs that change the same way as `r`), shown once for all of them, the list folded."""
    if room < DIFF_MIN_CHARS:
        return None
    lines = r.diff.splitlines(keepends=True)
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    if members and len(members) > 1:
        summary = (f"<summary>The same change in {len(members)} runs (+{added} &minus;{removed}), shown for "
                   f"<code>{esc(r.path)}</code></summary>")
        folded = _folded(members, max(200, room // 3))
    else:
        summary = f"<summary><code>{esc(r.path)}</code>: {esc(r.label)} (+{added} &minus;{removed})</summary>"
        folded = ""
    head, foot = f"<details{' open' if open_ else ''}>{summary}\n\n{folded}", "\n\n</details>\n"
    if not lines:
        return head + "_The expanded run is identical at base and head._" + foot
    keep = lines[:DIFF_MAX_LINES]
    overhead = size(head + foot) + 300  # the fence and the note

    def build(keep_lines: list[str], dropped: int) -> str:
        note = (
            f"\n_Diff cut: {dropped} more line(s). Full diff: `runrepo plan --base {base} --format text`"
            f" or `runrepo render {r.path}`._"
            if dropped > 0
            else ""
        )
        return head + fence("".join(keep_lines)) + note + foot

    while keep and size("".join(keep)) + overhead > room:
        keep = keep[: max(1, len(keep) * 3 // 4)] if len(keep) > 1 else []
    if not keep:
        return None
    return build(keep, len(lines) - len(keep))


def markdown(p: Plan, limit: int = LIMIT) -> str:
    out = headline(p)
    rows = table(p)
    if size("\n".join(out + rows)) + TAIL_RESERVE > limit:
        rows = table(p, compact=True)
    out += rows + [""] + notes(p) + data_block(p) + live_block(p)
    used = size("\n".join(out))
    if used + TAIL_RESERVE > limit:  # a table this large cannot be complete: say so rather than exceed
        keep = []
        for row in out:
            if size("\n".join(keep + [row])) + TAIL_RESERVE > limit:
                break
            keep.append(row)
        out = keep + ["", f"_Table cut at the comment limit: {len(p.runs)} runs in total; see `--format text`._"]
        return "\n".join(out) + "\n"
    tail: list[str] = []
    flist = findings_block(p)
    if flist:
        out += ["#### Findings at head", ""]
        used = size("\n".join(out))
        shown = 0
        for line in flist:
            if used + size(line) + 1 + TAIL_RESERVE > limit - 2_000:  # leave some room for diffs
                break
            out.append(line)
            used += size(line) + 1
            shown += 1
        if shown < len(flist):
            out.append(f"- _{len(flist) - shown} more finding(s) not shown: run `runrepo check --all`._")
        out.append("")
    with_diff = groups([r for r in p.runs if r.action != "deleted" or r.diff])
    if with_diff:
        out += ["#### Expanded runs: diff base &rarr; head", ""]
        used = size("\n".join(out)) + 1
        dropped = 0
        for i, members in enumerate(with_diff):
            if limit - used - TAIL_RESERVE < 400:  # full: the rest are not even rendered
                dropped += len(with_diff) - i
                break
            block = diff_block(members[0], limit - used - TAIL_RESERVE, open_=len(with_diff) == 1,
                               base=_sha(p.base), members=members)
            if block is None:
                dropped += 1
                continue
            out.append(block)
            used += size(block) + 1
        if dropped:
            tail.append(
                f"_{dropped} diff(s) not shown to stay within GitHub's {LIMIT:,}-character comment limit: "
                f"run `runrepo plan --base {_sha(p.base)} --format text` for all of them._"
            )
    tail.append(f"<sub>runrepo plan of {_sha(p.head)} against {_sha(p.base)}; updated on every push.</sub>")
    return "\n".join(out + tail) + "\n"


def _text_table(p: Plan) -> list[str]:
    """Columns as wide as their widest cell; a changed value reads `before -> after`."""
    rows = [("RUN", "ACTION", "CLUSTER", "GPU TYPE", "NODES", "GPUS", "MAX H", "GPU-H")]
    for r in p.runs:
        was = before(r)
        rows.append((
            f"{r.old_path} -> {r.path}" if r.old_path else r.path,
            r.label,
            changed(r, "cluster", lambda v: str(v or "-"), " -> ", was),
            changed(r, "gpu_type", lambda v: str(v or "-"), " -> ", was),
            changed(r, "nodes", num, " -> ", was),
            changed(r, "gpus", num, " -> ", was),
            changed(r, "max_duration", num, " -> ", was),
            changed(r, "gpu_hours", num, " -> ", was),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            .rstrip() for row in rows]


def text(p: Plan) -> str:
    """For a terminal: no limits, nothing cut; a diff shared by several runs is printed once."""
    t = p.totals
    out = [f"base {_sha(p.base)} {p.base_subject}", f"head {_sha(p.head)} {p.head_subject}", ""]
    out += _text_table(p)
    out.append(
        f"total to submit: {t.runs} run(s), {t.gpus} GPUs, {num(t.gpu_hours)} GPU-hours"
        + (f" ({t.unbounded} without max_duration)" if t.unbounded else "")
    )
    shared = {id(r): members for members in groups(p.runs) for r in members if len(members) > 1}
    for r in p.runs:
        out += ["", f"== {r.path}: {r.label}: {r.reason}", *live_lines(r)]
        out += [str(f) for f in r.findings]
        members = shared.get(id(r))
        if members and members[0] is not r:
            out.append(f"(the same change as {members[0].path}, shown there)")
            continue
        if members:
            out.append(f"the same change in {len(members)} runs: " + ", ".join(m.path for m in members))
        out.append(r.diff.rstrip("\n") if r.diff else "(expanded run identical at base and head)")
    out += [str(f) for f in p.shared_findings + p.pr_findings]
    out += [f"platform: {p.platform}"] if p.platform else []
    return "\n".join(out) + "\n"


def as_json(p: Plan) -> str:
    return json.dumps(p.as_dict(), indent=2, default=str) + "\n"


FORMATS = {"markdown": markdown, "text": text, "json": as_json}
