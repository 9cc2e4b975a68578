"""A rule never crashes: odd types and values anywhere it reads become findings or nothing."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from rulekit import REPO
from runrepo.check import expand
from runrepo.compose.layers import TreeSource
from runrepo.rules import run_rules
from runrepo.rules.context import RunCtx

ODD = [None, "x", "", [], {}, [1, "a"], {"a": 1}, -1, 0, 1.5, float("inf"), float("nan"), True, 10**12]
KEYS = [
    "parameters.model.micro_batch_size",
    "parameters.model.global_batch_size",
    "parameters.model.num_layers",
    "parameters.model.hidden_size",
    "parameters.model.num_attention_heads",
    "parameters.model.ffn_hidden_size",
    "parameters.model.tensor_model_parallel_size",
    "parameters.model.pipeline_model_parallel_size",
    "parameters.model.virtual_pipeline_model_parallel_size",
    "parameters.model.context_parallel_size",
    "parameters.model.encoder_seq_length",
    "parameters.model.rampup_batch_size",
    "parameters.model.seed",
    "parameters.model.activations_checkpoint_granularity",
    "parameters.model.activations_checkpoint_num_layers",
    "parameters.model.data.data_prefix",
    "parameters.model.data.splits_string",
    "parameters.model.tokenizer",
    "parameters.model.optim",
    "parameters.model.num_query_groups",
    "parameters.model.expert_model_parallel_size",
    "parameters.trainer.max_time",
    "parameters.trainer.limit_val_batches",
    "parameters.trainer.precision",
    "parameters.trainer.devices",
    "parameters.exp_manager",
    "parameters.model",
    "scheduling",
    "scheduling.max_duration",
    "scheduling.max_retries",
    "integrations",
    "compute",
]


@pytest.fixture(scope="module")
def base():
    resolved, findings = expand(TreeSource(REPO), "experiments/gpt3-126m-2node")
    assert resolved is not None, findings
    return resolved


@pytest.mark.parametrize("key", KEYS)
def test_no_rule_crashes(base, key):
    for value in ODD:
        run = copy.deepcopy(base.run)
        *parents, last = key.split(".")
        node = run
        for k in parents:
            node = node[k]
        node[last] = value
        ctx = RunCtx(dataclasses.replace(base, run=run), {})
        crashed = [f for f in run_rules(ctx) if f.rule == "internal"]
        assert crashed == [], (key, value, crashed)
