"""The estimator against 17 measured Megatron-core training setups on one H200.

Given that setup's assumptions (one GPU; bf16 weights with fp32 main params and gradients; torch's
fallback Adam; the local layer spec's unfused attention with an fp32 softmax; Megatron-LM's default
dropout 0.1; vocabulary 50,304; untied output layer, as the measured parameter counts show), the
estimate must count the parameters exactly, land within 10 % of every measured peak, and call the two
out-of-memory runs out of memory. Usable memory: 143,771 MiB (nvidia-smi's total) less the 3.5 GiB
CUDA reserve = 136.9 GiB; PyTorch's own total was 139.8 GiB, of which the process's context took ~3 GiB.
"""

from __future__ import annotations

import json

import pytest
from runrepo.estimate import GiB, memory, param_count
from runrepo_testing import CORPUS

DATA = CORPUS / "gpu-memory" / "h200-megatron-core-0.16.1.jsonl"
H200_MIB = 143_771
MAX_ERROR = 0.10


def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def measured_spec(r: dict) -> dict:
    h, a = r["hidden_size"], r["num_attention_heads"]
    return {
        "layers": r["num_layers"],
        "hidden": h,
        "heads": a,
        "ffn": r["ffn_hidden_size"],
        "kv_channels": h // a,
        "query_groups": a,
        "seq": r["seq_length"],
        "vocab_raw": r["vocab"],
        "vocab": r["vocab"],
        "micro_batch": r["micro_batch_size"],
        "num_microbatches": r["num_microbatches"],
        "global_batch": r["micro_batch_size"] * r["num_microbatches"],
        "tp": 1,
        "pp": 1,
        "vp": None,
        "cp": 1,
        "dp": 1,
        "sequence_parallel": False,
        "gated": False,
        "bias": True,
        "learned_positions": True,
        "tied_embeddings": False,
        "precision": "bf16",
        "o2": True,
        "distributed_optimizer": r["distributed_optimizer"],
        "optimizer_temporaries": True,
        "recompute": r["recompute"],
        "recompute_method": "uniform",
        "recompute_layers": 1,
        "attention": "unfused",
        "softmax_bytes": 4,
        "attention_dropout": 0.1,
        "hidden_dropout": 0.1,
        "assumptions": [],
    }


def test_there_are_17_configurations_two_out_of_memory():
    rs = rows()
    assert len(rs) == 17 and sum(r["status"] == "oom" for r in rs) == 2


@pytest.mark.parametrize("i", range(17))
def test_parameter_count_is_exact(i):
    r = rows()[i]
    assert param_count(measured_spec(r))["total"] == r["params"]


@pytest.mark.parametrize("i", range(17))
def test_verdict_and_error(i):
    r = rows()[i]
    est = memory(measured_spec(r), H200_MIB)
    assert est["fits"] is (r["status"] == "ok"), (r["name"], est["per_gpu_bytes"] / GiB)
    if r["status"] == "ok":
        error = est["per_gpu_bytes"] / r["peak_bytes"] - 1
        assert abs(error) <= MAX_ERROR, f"{r['name']}: {error:+.1%}"
        assert est["fraction"] < 0.9  # the largest that ran (2.7b, mbs 2) used 85 % of usable memory


def test_out_of_memory_runs_fail_in_the_optimizer_step():
    """The 6.7b run fits until torch's Adam adds its fp32 temporaries: the reason the verdict is right."""
    r = next(r for r in rows() if r["name"].startswith("6.7b"))
    est = memory(measured_spec(r), H200_MIB)
    assert est["peak_phase"] == "optimizer step" and not est["fits"]
    assert est["per_gpu_bytes"] - est["breakdown"]["optimizer_temporaries"] < est["usable_bytes"]
    assert est["per_gpu_bytes"] > 139.8 * GiB  # also above PyTorch's total, with no reserve at all


def test_error_table(capsys):
    """Prints the per-configuration comparison (pytest -s shows it)."""
    for r in rows():
        est = memory(measured_spec(r), H200_MIB)
        peak = r.get("peak_bytes")
        err = f"{est['per_gpu_bytes'] / peak - 1:+.1%}" if peak else "  -  "
        print(
            f"{r['name']:28} est {est['per_gpu_bytes'] / GiB:7.2f} GiB  measured "
            f"{(peak or 0) / GiB:7.2f} GiB  {err:>6}  {'fits' if est['fits'] else 'OOM':4} ({r['status']})"
        )
