"""The rule registry: each rule is an id, a severity, a one-line doc, the NeMo releases it
applies to, a check over one expanded run, and a failing and a fixed example.

Rule modules register themselves on import (`@rule`); `all_rules()` imports every family.
Ids that a pipeline stage raises itself (the gate's yaml-syntax, ...) are registered with `raised`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..findings import ERROR, WARNING, Severity
from ..releases import in_range

if TYPE_CHECKING:
    from ..compose.gate import KeyPath
    from .context import RunCtx

    Check = Callable[[RunCtx], Iterable["Hit"]]  # a rule's check: one expanded run -> what it finds
    C = TypeVar("C", bound=Check)

FAMILIES = ("pipeline", "schema", "world", "batch", "parallel", "moe", "data", "platform", "nemo", "memory", "policy",
            "secrets", "dataprep", "datasets")
TRAINING, DATA = "training", "data"  # run kinds: runs/experiments/ and runs/data/ (RunCtx.kind)
# Families that judge any mcli run; the rest judge a NeMo training config, or (dataprep) a data run's recipe.
BOTH_KINDS = ("platform", "policy", "secrets")


@dataclass(frozen=True)
class Hit:
    """What a check reports: the key path to blame, a message, and optionally a severity (and, for a
    finding in a file the run does not compose, such as runs/datasets.yaml, that file's position)."""

    path: KeyPath
    message: str
    severity: Severity | None = None  # None: the rule's own
    at: tuple[str, int, int] | None = None  # (file, line, col) instead of the path's origin


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    doc: str
    check: Check
    family: str
    since: str | None = None  # first NeMo release it applies to
    before: str | None = None  # first release it no longer applies to
    example: str = ""  # run-file fragment that fails the rule
    fix: str = ""  # the same fragment, fixed
    stage: str = ""  # set for ids the pipeline raises itself (gate, compose, ...): no check to run
    kinds: tuple[str, ...] = (TRAINING,)  # the run kinds it judges

    def judges(self, kind: str) -> bool:
        return kind in self.kinds

    def applies(self, release: str | None) -> bool:
        return in_range(release, self.since, self.before)

    @property
    def releases(self) -> str:
        if not self.since and not self.before:
            return "all"
        return f"{self.since or ''}..{self.before or ''}".strip(".") if self.before else f">= {self.since}"


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    doc: str,
    severity: Severity = ERROR,
    since: str | None = None,
    before: str | None = None,
    example: str = "",
    fix: str = "",
    kinds: tuple[str, ...] | None = None,
) -> Callable[[C], C]:
    """Register a check function as a rule: `def x(ctx: RunCtx) -> Iterator[Hit]`, returned as it is;
    `kinds` (the run kinds it judges) defaults by family: BOTH_KINDS, dataprep for data runs only."""

    def register(fn: C) -> C:
        if id in REGISTRY:
            raise ValueError(f"rule {id} registered twice")
        family = fn.__module__.rsplit(".", 1)[-1]
        judged = kinds or ((TRAINING, DATA) if family in BOTH_KINDS else (DATA,) if family == "dataprep" else (TRAINING,))
        REGISTRY[id] = Rule(id, severity, doc, fn, family, since, before, example.strip(), fix.strip(), kinds=judged)
        return fn

    return register


def raised(id: str, stage: str, doc: str, example: str = "", fix: str = "") -> None:
    """Register an id that a pipeline stage raises (the gate's yaml-syntax, compose's layer-missing, ...),
    so that `runrepo rules ID` explains every id a finding can carry."""
    if id in REGISTRY:
        raise ValueError(f"rule {id} registered twice")
    REGISTRY[id] = Rule(id, ERROR, doc, _no_check, stage, example=example.strip(), fix=fix.strip(), stage=stage)


def _no_check(ctx: RunCtx) -> Iterable[Hit]:
    return ()


def all_rules() -> dict[str, Rule]:
    for family in FAMILIES:
        importlib.import_module(f"{__package__}.{family}")
    return REGISTRY


__all__ = ["DATA", "ERROR", "TRAINING", "WARNING", "FAMILIES", "Hit", "Rule", "REGISTRY", "rule", "raised", "all_rules"]
