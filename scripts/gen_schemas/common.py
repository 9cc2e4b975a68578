"""Shared helpers: paths and byte-stable JSON output."""

from __future__ import annotations

import json
from pathlib import Path

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
CORPUS = REPO / "tests" / "data" / "corpus"  # the vendored copy of ../shared/corpus (tests/data/README.md)


def dumps(schema: dict) -> str:
    """Stable text: insertion order is kept (it is deterministic), two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(path: Path, schema: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(schema), encoding="utf-8")
    return path


def with_description(schema: dict | None, text: str) -> dict:
    """A copy of `schema` (None: no constraint) carrying `description` first, for editor hover."""
    out = {"description": text}
    out.update({k: v for k, v in (schema or {}).items() if k != "description"})
    return out
