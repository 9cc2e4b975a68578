"""NVIDIA's modern model layers (runs/model/): parameter counts against the published checkpoints, the
launcher presets' shape and tokenizer kept, and how each term of the modern stack moves the estimate."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from runrepo.check import expand
from runrepo.compose.layers import TreeSource
from runrepo.estimate import attention_kernel, estimate_run, memory, param_count, spec_from_nemo

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "tests" / "data" / "corpus" / "nemo-launcher"

# The table: total parameters of the published checkpoints (Hugging Face model cards / safetensors).
PUBLISHED = {
    "llama2_7b": 6_738_415_616,
    "llama2_13b": 13_015_864_320,
    "llama2_70b": 68_976_648_192,
    "llama3_8b": 8_030_261_248,
    "llama3_70b": 70_553_706_496,
    "llama3_1_405b": 405_853_388_800,
    "mistral_7b": 7_241_732_096,
    "mixtral_8x7b": 46_702_792_704,
    "mixtral_8x22b": 140_630_071_296,
}
# Mistral AI's announcements: "12.9B active parameters" (8x7B), "39B active parameters" (8x22B).
ACTIVE = {"mixtral_8x7b": 12.9e9, "mixtral_8x22b": 39e9}
LAYERS = {  # model layer: its launcher preset
    "llama2_7b": "llama/llama2_7b", "llama2_13b": "llama/llama2_13b", "llama2_70b": "llama/llama2_70b",
    "llama3_8b": "llama/llama3_8b", "llama3_70b": "llama/llama3_70b", "llama3_1_8b": "llama/llama3_1_8b",
    "llama3_1_70b": "llama/llama3_1_70b", "llama3_1_405b": "llama/llama3_1_405b",
    "mistral_7b": "mistral/mistral_7b", "mixtral_8x7b": "mixtral/mixtral_8x7b",
    "mixtral_8x22b": "mixtral/mixtral_8x22b", "nemotron_4b": "nemotron/nemotron_4b",
    "nemotron_15b": "nemotron/nemotron_15b", "nemotron_22b": "nemotron/nemotron_22b",
    "nemotron_340b": "nemotron/nemotron_340b",
}
SHAPE = ("num_layers", "hidden_size", "ffn_hidden_size", "num_attention_heads", "num_query_groups", "kv_channels",
         "activation", "normalization", "bias", "position_embedding_type", "rotary_percentage",
         "share_embeddings_and_output_weights", "num_moe_experts", "moe_router_topk", "transformer_engine")
LAYOUT = ("tensor_model_parallel_size", "pipeline_model_parallel_size", "virtual_pipeline_model_parallel_size",
          "context_parallel_size", "expert_model_parallel_size", "micro_batch_size", "global_batch_size")
# Where a layer departs from its preset, and why (each layer's comments say the same).
DEPARTS = {
    ("llama3_1_405b", "num_query_groups"),  # 16 in the preset: 410.1 B parameters; Meta's model and NeMo have 8
    *(("mixtral_8x22b", k) for k in LAYOUT),  # the preset cannot run: NeMo's own recipe's layout instead
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "runs", root / "runs")
    return root


def composed(tree: Path, model: str, nodes: int | None = None, **model_keys):
    """The layer composed on NeMo 2.0 (the newest release today) as a run on `nodes` x 8 H100 80GB."""
    layer = yaml.safe_load((tree / "runs" / "model" / f"{model}.yaml").read_text())
    nodes = nodes or max(2, layer["runrepo"]["preset_nodes"])
    extra = "".join(f"    {k}: {v}\n" for k, v in model_keys.items())
    name = f"{model}-{nodes}-{abs(hash(extra))}"
    (tree / "runs" / "experiments" / f"{name}.yaml").write_text(
        "# @package _global_\ndefaults:\n  - /nemo: v2_0\n  - /base\n  - /cluster: r9z1\n  - /node: multi_node\n"
        f"  - /model: {model}\n  - _self_\nname: x\ncompute:\n  nodes: {nodes}\nparameters:\n  model:\n{extra}"
        "    data:\n      data_prefix: [1.0, /mnt/data/x_text_document]\n")
    resolved, findings = expand(_source(tree), f"experiments/{name}")
    assert resolved is not None, findings
    return resolved


_SOURCES: dict = {}


def _source(tree: Path) -> TreeSource:
    """One source per tree: the shared layers are parsed once (runs written later are read when asked for)."""
    return _SOURCES.setdefault(tree, TreeSource(tree))


def estimate(tree, model, nodes=None, **model_keys) -> dict:
    r = composed(tree, model, nodes, **model_keys)
    return estimate_run(r.run, r.tool)


@pytest.mark.parametrize("model", sorted(PUBLISHED))
def test_parameter_counts_match_the_published_checkpoints(tree, model):
    total = estimate(tree, model)["params"]["total"]
    assert abs(total / PUBLISHED[model] - 1) < 0.01, f"{model}: {total:,} vs {PUBLISHED[model]:,}"


@pytest.mark.parametrize("model", sorted(ACTIVE))
def test_mixture_of_experts_counts_total_and_active(tree, model):
    p = estimate(tree, model)["params"]
    assert p["experts"] == 8 and p["topk"] == 2
    assert abs(p["active"] / ACTIVE[model] - 1) < 0.01 and p["active"] < p["total"] / 3


def test_each_architecture_term_counts():
    """GQA, SwiGLU, RMSNorm, RoPE and untied embeddings each change the count by exactly their own tensors."""
    base = {"layers": 2, "hidden": 64, "heads": 8, "ffn": 128, "kv_channels": 8, "query_groups": 8, "seq": 32,
            "vocab": 256, "vocab_raw": 256, "gated": False, "bias": False, "learned_positions": True,
            "tied_embeddings": True, "norm_params": 2}

    def n(**kw):
        return param_count(base | kw)["total"]

    assert n() - n(query_groups=2) == 2 * 2 * 64 * (8 - 2) * 8  # K and V of 6 fewer groups, per layer
    assert n(gated=True) - n() == 2 * 64 * 128  # SwiGLU: a third matrix per layer
    assert n() - n(norm_params=1) == (2 * 2 + 1) * 64  # RMSNorm drops the bias of 5 norms
    assert n() - n(learned_positions=False) == 32 * 64  # RoPE: no position table
    assert n(tied_embeddings=False) - n() == 256 * 64  # an output layer of its own
    moe = base | {"experts": 4, "topk": 2}
    assert param_count(moe)["total"] - n() == 2 * (3 * 2 * 64 * 128 + 64 * 4)  # 3 more MLPs and a router per layer
    assert param_count(moe)["active"] - n() == 2 * (2 * 64 * 128 + 64 * 4)


@pytest.mark.parametrize("model", sorted(LAYERS))
def test_layers_keep_their_presets_shape_layout_and_tokenizer(tree, model):
    preset = yaml.safe_load((PRESETS / f"{LAYERS[model]}.yaml").read_text())["model"]
    params = composed(tree, model).run["parameters"]["model"]
    for key in SHAPE + LAYOUT:
        if (model, key) in DEPARTS or key not in preset:
            continue
        assert params.get(key) == preset[key], f"{model}.{key}: {params.get(key)!r} vs NVIDIA's {preset[key]!r}"
    for key in ("library", "type"):  # NVIDIA's tokenizer form (file paths point into /mnt/data instead)
        assert params["tokenizer"].get(key) == preset["tokenizer"].get(key), key
    header = (tree / "runs" / "model" / f"{model}.yaml").read_text().splitlines()[1:3]
    assert f"training/{LAYERS[model]}.yaml (commit 26e42fa, Apache-2.0)" in " ".join(header)


@pytest.mark.parametrize(
    "keys, release, container, kernel",
    [
        ({"mcore_gpt": True, "transformer_engine": True}, "2.0", None, "flash"),
        ({"mcore_gpt": True, "transformer_engine": False, "use_flash_attention": True}, "2.0", None, "unfused"),
        ({"mcore_gpt": True, "transformer_engine": True, "attention_backend": "unfused"}, "2.4", None, "unfused"),
        ({"mcore_gpt": False, "transformer_engine": True}, "1.23", None, "flash"),
        ({"mcore_gpt": False, "use_flash_attention": True}, "1.23", None, "flash"),
        ({"transformer_engine": True}, "1.13", None, "unfused"),  # the 22.11 image predates fused attention
        ({"transformer_engine": True}, "1.13", True, "flash"),  # ... unless the container table says otherwise
        ({"mcore_gpt": True, "transformer_engine": True}, "2.0", False, "unfused"),
        ({}, None, None, "unfused"),
    ],
)
def test_attention_kernel_follows_nemos_spec_choice(keys, release, container, kernel):
    got, why = attention_kernel(keys, release, container)
    assert got == kernel and why


def _spec(tree, model, nodes=None, **keys):
    r = composed(tree, model, nodes, **keys)
    params = r.run["parameters"]
    world = params["trainer"]["devices"] * params["trainer"]["num_nodes"]
    return spec_from_nemo(params, world, r.tool, "2.0")


def _total(spec) -> int:
    return memory(spec, 81559)["per_gpu_bytes"]


def test_modern_stack_terms_move_the_estimate_the_way_megatron_does(tree):
    s = _spec(tree, "mixtral_8x7b", 8)  # TP 1, PP 4, VP 8, EP 8: 64 GPUs, DP 16, expert DP 2
    assert s["experts"] == 8 and s["ep"] == 8 and s["expert_dp"] == 2 and s["attention"] == "flash"
    ep1 = memory(s | {"ep": 1, "expert_dp": 16}, 81559)
    ep8 = memory(s, 81559)
    assert ep8["stages"][0]["expert_params"] * 8 == ep1["stages"][0]["expert_params"]  # experts sharded by EP
    assert ep8["breakdown"]["weights"] < ep1["breakdown"]["weights"]
    more_dp = s | {"expert_dp": 4, "dp": 32}
    assert memory(more_dp, 81559)["breakdown"]["optimizer_state"] < ep8["breakdown"]["optimizer_state"]
    assert _total(s | {"capacity_factor": 1.5}) > _total(s | {"capacity_factor": 1.0})  # dispatch at the factor
    assert _total(s | {"topk": 1}) < _total(s)
    fp8 = memory(s | {"fp8": True}, 81559)["breakdown"]
    assert fp8["activations"] < ep8["breakdown"]["activations"] and fp8["weights"] > ep8["breakdown"]["weights"]
    unfused = s | {"attention": "unfused"}
    assert _total(unfused) > _total(s) * 1.05  # the a·s² scores of 32 heads x 4,096²
    dense = _spec(tree, "llama3_8b", 16)  # CP 2
    assert _total(dense | {"cp": 1, "dp": dense["dp"] * 2}) > _total(dense)
    tp = _spec(tree, "llama3_70b", 8)  # TP 4 with sequence parallel
    assert _total(tp | {"sequence_parallel": False}) > _total(tp)
    assert _total(tp | {"vp": None}) < _total(tp)  # interleaving keeps more microbatches in flight


def test_explain_marks_terms_no_measurement_backs(tree, capsys):
    from runrepo.cli import main

    composed(tree, "mixtral_8x7b", 8)
    path = next((tree / "runs" / "experiments").glob("mixtral_8x7b-8-*.yaml"))
    assert main(["explain", "--repo", str(tree), str(path)]) == 0
    out = capsys.readouterr().out
    assert "46.703 B (8 experts; 12.880 B active per token with top-2 routing)" in out
    assert "attention: flash (mcore_gpt with transformer_engine" in out
    marked = [line for line in out.splitlines() if line.endswith("[no measurement backs this term]")]
    assert any("mixture of experts: 8 experts, 1 per GPU" in line for line in marked)
    assert any("capacity factor 1, padded to capacity" in line for line in marked)
    assert any("fused/flash attention" in line for line in marked)
    assert any("microbatches in flight (interleaved" in line for line in marked)
    assert "- no activation recompute" in out  # measured: no mark


def test_gpt3_layers_run_nvidias_transformer_engine_and_fit(tree):
    """The 121-144 GiB of issue 13 were NeMo's own unfused attention; NVIDIA's presets, on NVIDIA's node counts,
    run TE's fused attention and fit."""
    for model in ("gpt3_5b", "gpt3_20b", "gpt3_40b", "gpt3_175b"):
        est = estimate(tree, model)
        assert est["attention"]["kernel"] == "flash" and est["fits"], model
        unfused = copy.deepcopy(composed(tree, model, None, transformer_engine="false").run)
        assert estimate_run(unfused, {"gpus_per_node": 8, "gpu_memory_mib": 81559})["fits"] is False, model


def test_samples_are_data_seq_length_and_gradients_follow_grad_sync_dtype():
    """NVIDIA's mistral_nemo_12b preset: encoder_seq_length 1,024,000 for RoPE, samples of 2,048 tokens."""
    params = {"trainer": {"precision": "bf16"}, "model": {
        "num_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "encoder_seq_length": 1_024_000,
        "micro_batch_size": 1, "global_batch_size": 8, "megatron_amp_O2": True, "position_embedding_type": "rope",
        "data": {"seq_length": 2048}, "optim": {"name": "mcore_distributed_optim"}}}
    spec = spec_from_nemo(params, 8)
    assert spec["seq"] == 2048 and spec["pos_table"] == 1_024_000 and any("samples of data.seq_length" in a for a in spec["assumptions"])
    learned = spec_from_nemo(copy.deepcopy(params) | {"model": params["model"] | {"position_embedding_type":
                                                                                 "learned_absolute"}}, 8)
    assert param_count(learned)["total"] - param_count(spec)["total"] == 1_024_000 * 256  # the table, not the sample
    bf16 = copy.deepcopy(params)
    bf16["model"]["optim"]["grad_sync_dtype"] = "bf16"
    fp32_grads = memory(spec, 81559)["breakdown"]["gradients"]
    assert memory(spec_from_nemo(bf16, 8), 81559)["breakdown"]["gradients"] * 2 == fp32_grads
