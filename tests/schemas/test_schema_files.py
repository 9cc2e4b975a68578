"""Every schema is valid draft 2020-12 and documents each property for editor hover."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from schema_helpers import RELEASE_NAMES, SCHEMAS, schema

NAMES = sorted(p.relative_to(SCHEMAS).as_posix() for p in SCHEMAS.rglob("*.json"))
NEMO = [n for n in NAMES if n.startswith("nemo/")]


def test_all_expected_schemas_exist():
    expected = {"mcli-run.json", "run-file.json", *(f"nemo/v{r}.json" for r in RELEASE_NAMES)}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_valid_draft_2020_12(name):
    doc = schema(name)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(doc)


def _undocumented(node, path="") -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            if not (isinstance(sub, dict) and sub.get("description")):
                out.append(f"{path}/{key}")
        for key, sub in node.items():
            if key != "if":  # a condition, not something an editor shows
                out += _undocumented(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            out += _undocumented(sub, f"{path}/{i}")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_property_has_a_description(name):
    assert _undocumented(schema(name)) == []


@pytest.mark.parametrize("name", NEMO)
def test_nemo_declares_open_sections(name):
    doc = schema(name)
    assert "model" in doc["x-open-sections"]
    for section in doc["x-open-sections"]:
        assert doc["properties"][section]["additionalProperties"] is True
    assert doc["additionalProperties"] is False
    assert doc["properties"]["trainer"]["additionalProperties"] is False
    assert doc["properties"]["exp_manager"]["additionalProperties"] is False


def _x_messages(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["x-message"]] if "x-message" in node else []
        return own + [m for v in node.values() for m in _x_messages(v)]
    if isinstance(node, list):
        return [m for v in node for m in _x_messages(v)]
    return []


@pytest.mark.parametrize("name", NAMES)
def test_custom_keywords_are_text(name):
    doc = schema(name)
    assert all(isinstance(m, str) and m for m in _x_messages(doc))
