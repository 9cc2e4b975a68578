"""Reporters, chosen by name: each turns findings into text on a stream."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..findings import ERROR, Finding


def text(findings: list[Finding], checked: int) -> str:
    lines = [str(f) for f in findings]
    errors = sum(f.severity == ERROR for f in findings)
    warnings = len(findings) - errors
    lines.append(f"{checked} run(s) checked: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + "\n"


def as_json(findings: list[Finding], checked: int) -> str:
    return json.dumps({"checked": checked, "findings": [f.as_dict() for f in findings]}, indent=2) + "\n"


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def github(findings: list[Finding], checked: int) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's lines."""
    out = []
    for f in findings:
        props = f"file={_escape(f.file, True)}"
        if f.line:
            props += f",line={f.line},col={f.col}"
        props += f",title={_escape(f.rule, True)}"
        out.append(f"::{'error' if f.severity == ERROR else 'warning'} {props}::{_escape(f.text)}")
    return (
        "\n".join(out + [text([], checked).strip() if not findings else text(findings, checked).splitlines()[-1]])
        + "\n"
    )


REPORTERS: dict[str, Callable[[list[Finding], int], str]] = {"text": text, "json": as_json, "github": github}
