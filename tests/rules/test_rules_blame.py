"""Two-value findings sit on the line the run file's author edited: the value the run file under check
sets, naming where the other value is set, with the values that would be valid."""

from __future__ import annotations

import pytest
from rulekit import hits, run_text

MODEL = "runs/model/gpt3_126m.yaml"  # 12 layers, hidden 768, 12 heads, ffn 3072, mbs 4, gbs 256, seq 2048
TP2 = """\
# @package _global_
parameters:
  model:
    num_layers: 12
    hidden_size: 768
    ffn_hidden_size: 3072
    num_attention_heads: 12
    tensor_model_parallel_size: 2
    micro_batch_size: 4
    global_batch_size: 256
"""


def line(repo, rel: str, needle: str) -> int:
    return next(i for i, text in enumerate((repo.root / rel).read_text().splitlines(), 1) if needle in text)


CASES = [
    # rule, model layer, run-file value (the edited line), the other value's line in the layer, in the message
    ("heads-divisible-tp", "gpt3_126m", "tensor_model_parallel_size: 8", "num_attention_heads:",
     "valid TP ∈ {1, 2, 3, 4, 6} (within a node of 8 GPUs; {1, 2, 4} with PP=1 x CP=1 on 8 GPUs)"),
    ("heads-divisible-tp", "tp2", "num_attention_heads: 13", "tensor_model_parallel_size:",
     "nearest valid num_attention_heads: 12 or 14"),
    ("ffn-divisible-tp", "tp2", "ffn_hidden_size: 3073", "tensor_model_parallel_size:",
     "nearest valid ffn_hidden_size: 3072 or 3074"),
    ("layers-divisible-pp", "gpt3_126m", "pipeline_model_parallel_size: 5", "num_layers:",
     "valid PP ∈ {1, 2, 4} (divisors of num_layers=12 that fit TP=1 x CP=1 on 8 GPUs)"),
    ("parallel-world", "gpt3_126m", "tensor_model_parallel_size: 3", None,
     "valid TP ∈ {1, 2, 3, 4, 6} (within a node of 8 GPUs; {1, 2, 4} with PP=1 x CP=1 on 8 GPUs)"),
    ("batch-divisible", "gpt3_126m", "micro_batch_size: 3", "global_batch_size:",
     "valid micro_batch_size ∈ {1, 2, 4, 8, 16, 32} (global_batch_size / DP 8)"),
    ("batch-divisible", "gpt3_126m", "global_batch_size: 100", "micro_batch_size:",
     "nearest valid global_batch_size: 96 or 128"),
    ("seq-divisible-cp", "gpt3_126m", "context_parallel_size: 3", "encoder_seq_length:", "valid CP ∈ {1, 2, 4, 8}"),
    ("hidden-divisible-heads", "gpt3_126m", "hidden_size: 1000", "num_attention_heads:",
     "nearest valid hidden_size: 996 or 1008"),
    ("position-embeddings", "gpt3_126m", "max_position_embeddings: 1024", "encoder_seq_length:", ""),
]


@pytest.mark.parametrize("rule_id, model, edit, other, valid", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_blame_goes_to_the_edited_line(repo, rule_id, model, edit, other, valid):
    if model == "tp2":
        repo.write("runs/model/tp2.yaml", TP2)
    layer = f"runs/model/{model}.yaml"
    rel = repo.write("runs/experiments/t.yaml", run_text(f"parameters:\n  model:\n    {edit}\n", model=model))
    (f,) = hits(repo.check(rel), rule_id)
    assert (f.file, f.line) == (rel, line(repo, rel, edit)), f
    if other:
        assert f"({layer}:{line(repo, layer, other)})" in f.message
    assert f"({rel}:" not in f.message  # the finding's own line is not repeated in its message
    assert valid in f.message


def test_a_shared_value_stays_on_the_shared_line(repo):
    """Neither value in the run file: the finding stays where the layer sets it, as before."""
    repo.write("runs/model/tp8.yaml", TP2.replace("tensor_model_parallel_size: 2", "tensor_model_parallel_size: 8"))
    rel = repo.write("runs/experiments/t.yaml", run_text("", model="tp8"))
    (f,) = hits(repo.check(rel), "heads-divisible-tp")
    assert (f.file, f.line) == ("runs/model/tp8.yaml", line(repo, "runs/model/tp8.yaml", "num_attention_heads:"))
    assert f"tensor_model_parallel_size=8 (runs/model/tp8.yaml:{line(repo, 'runs/model/tp8.yaml', 'tensor_')})" in f.message
