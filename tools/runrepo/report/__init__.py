"""Reporters, chosen by name: each turns findings into text on a stream."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..findings import ERROR, Finding
from .escape import workflow_message, workflow_property


def text(findings: list[Finding], checked: int) -> str:
    lines = [str(f) for f in findings]
    errors = sum(f.severity == ERROR for f in findings)
    warnings = len(findings) - errors
    lines.append(f"{checked} run(s) checked: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + "\n"


def as_json(findings: list[Finding], checked: int) -> str:
    return json.dumps({"checked": checked, "findings": [f.as_dict() for f in findings]}, indent=2) + "\n"


def github(findings: list[Finding], checked: int) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's lines."""
    out = []
    for f in findings:
        props = f"file={workflow_property(f.file)}"
        if f.line:
            props += f",line={f.line},col={f.col}"
        props += f",title={workflow_property(f.rule)}"
        out.append(f"::{'error' if f.severity == ERROR else 'warning'} {props}::{workflow_message(f.text)}")
    return (
        "\n".join(out + [text([], checked).strip() if not findings else text(findings, checked).splitlines()[-1]])
        + "\n"
    )


REPORTERS: dict[str, Callable[[list[Finding], int], str]] = {"text": text, "json": as_json, "github": github}
