"""The Finding type: what every check produces and every reporter prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import RunrepoError

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    col: int
    rule: str
    severity: str
    message: str
    run: str = ""  # the run file this finding was found while checking (may differ from `file`)

    @classmethod
    def from_error(cls, e: RunrepoError, run: str = "") -> Finding:
        return cls(e.file or run, e.line, e.col, e.rule, ERROR, e.message, run or e.file)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.severity}[{self.rule}] {self.message}"


def exit_code(findings: list[Finding], strict: bool = False) -> int:
    bad = {ERROR, WARNING} if strict else {ERROR}
    return 1 if any(f.severity in bad for f in findings) else 0


def dedupe(findings) -> list[Finding]:
    """A shared layer's mistake is found once per dependent run; report it once, in a stable order."""
    seen: dict = {}
    for f in findings:
        key = (f.file, f.line, f.col, f.rule, f.severity, f.message)
        seen.setdefault(key, f)
    return sorted(seen.values(), key=lambda f: (f.file, f.line, f.col, f.rule, f.message))
