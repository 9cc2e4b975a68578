"""`runrepo rules ID` shows a failing example and its fix: each of this module's rules fails on its example
and passes on its fix, written over the standard test run (NeMo 2.0, 8 x A100 80GB, gpt3_126m)."""

from __future__ import annotations

import pytest
import yaml
from rulekit import composed, hits, run_text
from runrepo.rules import all_rules

MINE = sorted(
    r.id
    for r in all_rules().values()
    if r.family in ("nemo", "data", "memory")
    or r.id
    in (
        "expert-parallel-dp",
        "query-groups-tp",
        "ffn-divisible-tp",
        "vp-layers",
        "vp-pipeline-size",
        "vp-needs-o2",
        "interleaved-microbatches",
        "sequence-parallel-tp",
        "seq-divisible-tp",
        "seq-divisible-cp",
        "rampup-batch-size",
        "accumulate-grad-batches",
    )
)


def _run(fragment: str) -> str:
    data = yaml.safe_load(fragment) or {}
    layers = {"data": "data_prefix" not in fragment}  # the data layer's list cannot merge with a mapping
    for entry in data.pop("defaults", []):
        ((group, option),) = entry.items()
        layers[group.strip("/")] = option
    return run_text(yaml.safe_dump(data, sort_keys=False) if data else "", **layers)


def test_every_rule_here_is_documented():
    rules = all_rules()
    assert len(MINE) == 30
    for rid in MINE:
        r = rules[rid]
        assert r.doc and "\n" not in r.doc and r.example and r.fix, rid
        assert r.severity in ("error", "warning"), rid


@pytest.mark.parametrize("rule_id", MINE)
def test_example_fails_and_fix_passes(repo, rule_id):
    r = all_rules()[rule_id]
    rel = repo.write("runs/experiments/t.yaml", _run(r.example))
    assert hits(composed(repo.check(rel)), rule_id), f"{rule_id}: its example does not fail"
    repo.write(rel, _run(r.fix))
    assert hits(composed(repo.check(rel)), rule_id) == [], f"{rule_id}: its fix still fails"
