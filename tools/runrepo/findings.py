"""The Finding type: what every check produces and every reporter prints."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Final, Literal

from .errors import RunrepoError

Severity = Literal["error", "warning"]
ERROR: Final = "error"
WARNING: Final = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    col: int
    rule: str
    severity: Severity
    message: str
    run: str = ""  # the run file(s) being checked when found, ", "-joined (may differ from `file`)

    @classmethod
    def from_error(cls, e: RunrepoError, run: str = "") -> Finding:
        return cls(e.file or run, e.line, e.col, e.rule, ERROR, e.message, run or e.file)

    @property
    def text(self) -> str:
        """The message, naming the run(s) when the blamed line is in a shared layer."""
        runs = [r for r in self.run.split(", ") if r and r != self.file]
        if not runs:
            return self.message
        return f"{self.message} (in {runs[0]})" if len(runs) == 1 else f"{self.message} (in {len(runs)} runs: {', '.join(runs)})"

    def as_dict(self) -> dict[str, str | int]:
        return {**asdict(self), "message": self.text}

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.severity}[{self.rule}] {self.text}"


def exit_code(findings: list[Finding], strict: bool = False) -> int:
    bad = {ERROR, WARNING} if strict else {ERROR}
    return 1 if any(f.severity in bad for f in findings) else 0


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """A shared layer's mistake is found once per dependent run; report it once, naming the runs."""
    merged: dict[tuple[str, int, int, str, str, str], Finding] = {}
    for f in findings:
        key = (f.file, f.line, f.col, f.rule, f.severity, f.message)
        if key in merged:
            runs = merged[key].run.split(", ")
            if f.run not in runs:
                merged[key] = replace(merged[key], run=", ".join(sorted(runs + [f.run])))
        else:
            merged[key] = f
    return sorted(merged.values(), key=lambda f: (f.file, f.line, f.col, f.rule, f.message))
