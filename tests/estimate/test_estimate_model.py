"""The estimator's parts on their own: vocabulary padding, the parameter formulas, how each parallelism,
recompute and kernel choice moves the memory estimate, the budget, and estimate_run's shape."""

from __future__ import annotations

import copy

import pytest
from runrepo.estimate import estimate_run, max_time_seconds, memory, param_count, spec_from_nemo
from runrepo.estimate.shape import padded_vocab

MODEL = {
    "num_layers": 24,
    "hidden_size": 2048,
    "ffn_hidden_size": 8192,
    "num_attention_heads": 16,
    "encoder_seq_length": 2048,
    "max_position_embeddings": 2048,
    "micro_batch_size": 4,
    "global_batch_size": 256,
    "tensor_model_parallel_size": 1,
    "pipeline_model_parallel_size": 1,
    "megatron_amp_O2": True,
    "tokenizer": {"library": "megatron", "type": "GPT2BPETokenizer"},
    "optim": {"name": "fused_adam"},
}
PARAMS = {
    "trainer": {"precision": "bf16", "devices": 8, "num_nodes": 1, "max_steps": 1000, "max_time": "00:23:30:00"},
    "model": MODEL,
}


def spec(world=8, **model):
    p = copy.deepcopy(PARAMS)
    p["model"].update(model)
    return spec_from_nemo(p, world)


def total(world=8, **model) -> int:
    return memory(spec(world, **model), 81920)["per_gpu_bytes"]


@pytest.mark.parametrize("tp,expected", [(1, 50304), (2, 50432), (4, 50688), (8, 51200)])
def test_vocabulary_padded_to_divisible_by_times_tp(tp, expected):
    assert padded_vocab(50257, 128, tp) == expected
    assert spec(tensor_model_parallel_size=tp)["vocab"] == expected


def test_launcher_formula_matches_exact_count_for_a_standard_gpt():
    counts = param_count(spec())
    # the exact count adds only the final LayerNorm (2h) to the launcher's formula
    assert counts["total"] - counts["launcher_formula"] == pytest.approx(2 * 2048, abs=2)


def test_each_choice_moves_memory_the_right_way():
    base = total()
    assert total(optim={"name": "distributed_fused_adam"}) < base
    assert total(activations_checkpoint_granularity="selective") < base
    assert total(
        activations_checkpoint_granularity="full",
        activations_checkpoint_method="uniform",
        activations_checkpoint_num_layers=1,
    ) < total(activations_checkpoint_granularity="selective")
    assert total(mcore_gpt=True, transformer_engine=True) < base  # flash attention: no a·s² tensors
    assert total(micro_batch_size=8, global_batch_size=512) > base
    tp2 = total(tensor_model_parallel_size=2)
    assert tp2 < base and total(tensor_model_parallel_size=2, sequence_parallel=True) < tp2
    assert total(pipeline_model_parallel_size=4) < base
    vp = total(pipeline_model_parallel_size=4, virtual_pipeline_model_parallel_size=3)
    assert vp > total(pipeline_model_parallel_size=4)  # interleaving keeps more microbatches in flight
    assert total(context_parallel_size=2) < base
    assert total(megatron_amp_O2=False) < base  # O1: fp32 weights but no separate fp32 main copy


def test_distributed_optimizer_is_6_plus_12_over_dp_bytes_per_parameter():
    s = spec(world=64, optim={"name": "mcore_distributed_optim"})
    mem = memory(s, 81920)
    b, n = mem["breakdown"], mem["stages"][0]["params"]
    assert (b["weights"] + b["gradients"] + b["optimizer_state"]) / n == pytest.approx(6 + 12 / 64, rel=1e-6)
    plain = memory(spec(world=64), 81920)
    assert (
        plain["breakdown"]["weights"] + plain["breakdown"]["gradients"] + plain["breakdown"]["optimizer_state"]
    ) / n == pytest.approx(18, rel=1e-6)


def test_pipeline_stages_first_holds_microbatches_last_holds_logits():
    mem = memory(spec(pipeline_model_parallel_size=4), 81920)
    first, last = mem["stages"]
    assert first["stage"] == "first" and last["stage"] == "last"
    assert first["in_flight_microbatches"] == 4 and last["bytes"]["logits"] > 0 == first["bytes"]["logits"]


def test_assumptions_are_stated():
    text = " ".join(memory(spec(), 81920)["assumptions"])
    for word in ("Adam", "attention", "recompute", "sequence parallel", "runtime buffers"):
        assert word in text


def test_max_time_forms():
    assert max_time_seconds("00:23:30:00") == 23.5 * 3600
    assert max_time_seconds({"days": 1, "hours": 2}) == 26 * 3600
    assert max_time_seconds(1335600) is None  # `6:11:00:00` unquoted: a base-60 integer
    assert max_time_seconds("23:30:00") is None


def test_estimate_run_reports_layout_params_memory_and_budget():
    run = {
        "image": "nvcr.io/nvidia/nemo:24.05",
        "compute": {"gpu_type": "a100_80gb", "gpus": 8},
        "scheduling": {"max_duration": 24},
        "parameters": copy.deepcopy(PARAMS),
    }
    est = estimate_run(run, {"gpus_per_node": 8, "gpu_memory_mib": 81920})
    assert est["release"] == "2.0" and est["layout"]["dp"] == 8 and est["fits"] is True
    assert est["budget"]["tokens_per_step"] == 256 * 2048 and est["budget"]["gpu_hours_budget"] == 192
    assert est["budget"]["max_time_hours"] == 23.5 and est["budget"]["hours_to_max_steps"] > 0
    assert "GiB" in est["summary"] and isinstance(est["peak_gib"], float)
    assert estimate_run({"parameters": {"model": {}}}, {}).keys() == {"error"}
    unknown = estimate_run(run, {})
    assert unknown["fits"] is None and "unknown" in unknown["summary"]
