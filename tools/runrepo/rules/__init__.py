"""Rules: the registry (registry.py), the context a rule sees (context.py), one module per family,
and `run_rules`, which applies them to one expanded run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..compose.layers import Origin
from ..findings import ERROR, WARNING, Finding
from .registry import REGISTRY, Hit, Rule, all_rules, raised, rule
from .secrets import REDACTED, flagged

if TYPE_CHECKING:
    from .context import RunCtx


def run_rules(ctx: RunCtx, only: Iterable[str] | None = None) -> list[Finding]:
    """Apply every registered rule that fits the run's release; a rule's crash is a finding too."""
    out: list[Finding] = []
    for r in all_rules().values():
        if r.stage or (only is not None and r.id not in only):
            continue
        if not r.applies(ctx.release) or not r.judges(ctx.kind):
            continue
        try:
            hits = list(r.check(ctx))
        except Exception as e:  # a rule must never take the whole check down
            o = ctx.origin(())
            out.append(Finding(o.file, o.line, o.col, "internal", ERROR, f"rule {r.id} crashed: {e!r}", ctx.run_file))
            continue
        for h in hits:
            o = ctx.origin(h.path) if h.at is None else Origin(*h.at)
            out.append(Finding(o.file, o.line, o.col, r.id, h.severity or r.severity, h.message, ctx.run_file))
    return scrub(out, flagged(ctx))


def scrub(findings: list[Finding], secrets: dict[str, str]) -> list[Finding]:
    """Findings whose messages quote none of the run's flagged strings (a schema error may quote the
    value it refuses): each is replaced by `«redacted: <rule-id>»`."""
    if not secrets:
        return findings
    out = []
    for f in findings:
        message = f.message
        for value, rule_id in secrets.items():
            if value in message:
                message = message.replace(value, REDACTED.format(rule=rule_id))
        out.append(f if message == f.message else replace(f, message=message))
    return out


__all__ = ["ERROR", "WARNING", "Hit", "Rule", "REGISTRY", "rule", "raised", "all_rules", "run_rules"]
