"""Escaping for the places runrepo writes text from a pull request: GitHub workflow commands and
markdown (plan comments, job summaries). One escaper per format, used by every reporter."""

from __future__ import annotations

import re


def workflow_message(value: str) -> str:
    """The message of `::error ...::message`: % and line breaks would end or forge the command."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(value: str) -> str:
    """A property value (`file=...,title=...`): also `:` and `,`, which separate properties."""
    return workflow_message(value).replace(":", "%3A").replace(",", "%2C")


def markdown(text: str) -> str:
    """Text made inert in markdown and inside table cells: no HTML, no `|`, no @mentions, one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return text.replace("@", "&#64;").replace("\r", " ").replace("\n", " ")


def markdown_code(text: str) -> str:
    """Inline code that survives backticks in `text` (and is inert like markdown())."""
    text = markdown(text)
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def markdown_fence(body: str, lang: str = "diff") -> str:
    """A fenced block longer than any run of backticks inside it."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`{3,}", body)), default=0) + 1)
    return f"{ticks}{lang}\n{body}{'' if body.endswith(chr(10)) else chr(10)}{ticks}"
