"""The one error type, and the exit codes every command maps onto."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class RunrepoError(Exception):
    """Bad input that stops a file from being processed at all.

    It carries everything a Finding needs, so the CLI turns it into one clear line
    (`path:line:col: error[rule] message`) instead of a traceback.
    """

    def __init__(self, rule: str, message: str, file: str = "", line: int = 0, col: int = 0):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.file = file
        self.line = line
        self.col = col

    def __str__(self) -> str:
        where = self.file + (f":{self.line}:{self.col}" if self.line else "")
        return f"{where}: error[{self.rule}] {self.message}" if where else f"error[{self.rule}] {self.message}"


# Errors that are about the invocation, not a file's content: exit 2, and never a finding on a line.
NOT_FINDINGS = ("usage", "git")
