"""jsonschema-rs answers "valid?" on the hot path; it must agree with jsonschema on every document."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from runrepo.validate import schema
from runrepo_testing import ROOT, bundled_runs

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("jsonschema_rs")


def documents(corpus):
    for f in sorted((corpus / "mcli").rglob("*.yaml")):
        yield "mcli-run.json", yaml.safe_load(f.read_text())
    for release in ("1.11", "1.13", "1.23", "2.0"):
        f = corpus / "nemo" / "megatron_gpt_config" / f"v{release}.0.yaml"
        doc = yaml.safe_load(f.read_text())
        yield f"nemo/v{release}.json", doc
        mutated = copy.deepcopy(doc)
        mutated["trainer"]["max_step"] = 1
        yield f"nemo/v{release}.json", mutated
        mutated = copy.deepcopy(doc)
        mutated["model"]["num_layers"] = "twelve"
        yield f"nemo/v{release}.json", mutated
        mutated = copy.deepcopy(doc)
        mutated["model"]["data"]["data_prefix"] = [1.0, "/d/x"]
        yield f"nemo/v{release}.json", mutated
    for f in sorted((corpus / "nemo-launcher" / "gpt3").glob("*.yaml")):
        yield "nemo/v2.0.json", yaml.safe_load(f.read_text())


def test_fast_gate_agrees_with_jsonschema(corpus, cli):
    docs = list(documents(corpus))
    for run in bundled_runs():
        rendered = yaml.safe_load(cli("render", "--repo", str(ROOT), run)[1])
        docs.append(("mcli-run.json", rendered))
        docs.append(("nemo/v1.13.json", rendered["parameters"]))
        broken = json.loads(json.dumps(rendered))
        broken["compute"]["gpus"] = "8"
        docs.append(("mcli-run.json", broken))
    verdicts = set()
    for name, doc in docs:
        slow = not any(True for _ in schema.validator(name).iter_errors(doc))
        assert schema.fast_validator(name).is_valid(doc) == slow, name
        verdicts.add(slow)
    assert verdicts == {True, False}  # both kinds were exercised
