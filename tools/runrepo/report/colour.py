"""Colour for a terminal: on when the stream is a TTY, off with NO_COLOR (no-color.org) or TERM=dumb.

FORCE_COLOR turns it on where no TTY is (CI logs that render ANSI). Only text meant for people is
painted; json, github and markdown output never is.
"""

from __future__ import annotations

import os
import re

RED, YELLOW, BOLD, DIM, RESET = "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"
_FINDING = re.compile(r"^(?P<where>\S.*?): (?P<sev>error|warning)\[(?P<rule>[^\]]+)\]", re.M)
_SUMMARY = re.compile(r"^(?P<n>\d+ run\(s\) checked: )(?P<e>\d+) error\(s\), (?P<w>\d+) warning\(s\)$", re.M)
_RULE_ROW = re.compile(r"^(?P<id>\S+)(?P<gap>\s+)(?P<sev>error|warning)\b", re.M)


def enabled(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _sev(sev: str) -> str:
    return (RED if sev == "error" else YELLOW) + BOLD + sev + RESET


def paint_findings(text: str, stream: object) -> str:
    """`file:line:col: error[rule] ...` lines of the text reporter, and its summary line."""
    if not enabled(stream):
        return text
    text = _FINDING.sub(lambda m: f"{BOLD}{m['where']}{RESET}: {_sev(m['sev'])}[{m['rule']}]", text)

    def summary(m: re.Match[str]) -> str:
        e = f"{m['e']} error(s)"
        w = f"{m['w']} warning(s)"
        return m["n"] + (RED + BOLD + e + RESET if m["e"] != "0" else e) + ", " + (YELLOW + w + RESET if m["w"] != "0" else w)

    return _SUMMARY.sub(summary, text)


def paint_rules(text: str, stream: object) -> str:
    """`runrepo rules`: the id bold, the severity in its colour."""
    if not enabled(stream):
        return text
    return _RULE_ROW.sub(lambda m: f"{BOLD}{m['id']}{RESET}{m['gap']}{_sev(m['sev'])}", text)
