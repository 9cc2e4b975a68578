"""The mixture-of-experts and grouped-query-attention rules (rules/moe.py): each fails on its example and
passes on its fix over the standard test run (NeMo 2.0, 8 x A100 80GB, gpt3_126m); their release bounds;
and NVIDIA's MoE/GQA model layers draw none of them."""

from __future__ import annotations

import pytest
import yaml
from rulekit import composed, hits, run_text
from runrepo.rules import all_rules

MOE = sorted(r.id for r in all_rules().values() if r.family == "moe")


def _run(fragment: str) -> str:
    data = yaml.safe_load(fragment) or {}
    image = data.pop("image", None)
    body = yaml.safe_dump(data, sort_keys=False) if data else ""
    return run_text((f"image: {image}\n" if image else "") + body)


def test_the_family_is_registered_and_documented():
    assert len(MOE) == 13
    for rid in MOE:
        r = all_rules()[rid]
        assert r.doc and "\n" not in r.doc and r.example and r.fix and r.severity == "error", rid
        assert r.since in ("1.23", "2.0", "2.1"), rid  # NeMo reads MoE keys from 2.0's image on; GQA from 1.23


@pytest.mark.parametrize("rule_id", MOE)
def test_example_fails_and_fix_passes(repo, rule_id):
    r = all_rules()[rule_id]
    rel = repo.write("runs/experiments/t.yaml", _run(r.example))
    assert hits(composed(repo.check(rel)), rule_id), f"{rule_id}: its example does not fail"
    repo.write(rel, _run(r.fix))
    assert hits(composed(repo.check(rel)), rule_id) == [], f"{rule_id}: its fix still fails"


@pytest.mark.parametrize(
    "rule_id, applies, not_on",
    [
        ("moe-experts-ep", ("2.0", "2.4"), ("1.23",)),
        ("moe-capacity-dispatcher", ("2.0", "2.2"), ("1.23", "2.3")),  # Megatron-core 0.12 drops the check
        ("expert-parallel-world", ("2.1", "2.4"), ("2.0",)),
        ("expert-parallel-dp", ("2.0",), ("1.23", "2.1")),  # replaced by expert-parallel-world in NeMo 2.1
        ("heads-divisible-query-groups", ("1.23", "2.0"), ("1.13",)),
    ],
)
def test_release_bounds(rule_id, applies, not_on):
    r = all_rules()[rule_id]
    assert all(r.applies(v) for v in applies) and not any(r.applies(v) for v in not_on)


def test_nemo_default_topk_counts(repo):
    """NeMo routes to 2 experts unless told otherwise: one expert and no moe_router_topk fails at the first step."""
    rel = repo.write("runs/experiments/t.yaml", run_text("parameters:\n  model:\n    num_moe_experts: 1\n"))
    (hit,) = hits(composed(repo.check(rel)), "moe-router-topk")
    assert "moe_router_topk=2" in hit.message and hit.line  # blamed on num_moe_experts: topk is NeMo's default


def test_a_dense_model_draws_no_moe_finding(repo):
    rel = repo.write("runs/experiments/t.yaml", run_text("parameters:\n  model:\n    moe_router_topk: 4\n"))
    assert [f for f in composed(repo.check(rel)) if f.rule in MOE] == []


@pytest.mark.parametrize("model", ["mixtral_8x7b", "mixtral_8x22b", "llama3_70b", "nemotron_340b"])
def test_bundled_moe_and_gqa_layers_pass_these_rules(repo, model):
    nodes = {"mixtral_8x7b": 8, "mixtral_8x22b": 16, "llama3_70b": 4, "nemotron_340b": 8}[model]
    rel = repo.write("runs/experiments/t.yaml", run_text(f"compute:\n  nodes: {nodes}\n", node="multi_node", model=model))
    assert [f.message for f in composed(repo.check(rel)) if f.rule in MOE + ["expert-parallel-dp", "query-groups-tp"]] == []
