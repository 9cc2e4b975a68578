"""Every pre-flight rule: a failing run file (the finding names the file and the marked line) and a
passing one. Runs compose /nemo, /base, /cluster r7z2 (8 GPUs), /node, /model gpt3_126m, /data."""

from __future__ import annotations

import pytest
from rulekit import composed, errors, hits, marked_line, run_text

# rule id, failing body (the line ending in #< is where the finding must point), passing body, layers
CASES = [
    (
        "expert-parallel-dp",
        "parameters:\n  model:\n    expert_model_parallel_size: 3 #<",
        "parameters:\n  model:\n    expert_model_parallel_size: 2",
        {},
    ),
    (
        "query-groups-tp",
        "parameters:\n  model:\n    tensor_model_parallel_size: 4\n    num_query_groups: 6 #<",
        "parameters:\n  model:\n    tensor_model_parallel_size: 4\n    num_query_groups: 4",
        {},
    ),
    (
        "ffn-divisible-tp",
        "parameters:\n  model:\n    tensor_model_parallel_size: 2\n    ffn_hidden_size: 3071 #<",
        "parameters:\n  model:\n    tensor_model_parallel_size: 2\n    ffn_hidden_size: 3072",
        {},
    ),
    (
        "vp-layers",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 2 #<",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 3",
        {},
    ),
    (
        "vp-pipeline-size",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 2\n    virtual_pipeline_model_parallel_size: 2 #<",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 3",
        {},
    ),
    (
        "vp-needs-o2",
        "parameters:\n  model:\n    megatron_amp_O2: false\n    pipeline_model_parallel_size: 4\n"
        "    virtual_pipeline_model_parallel_size: 3 #<",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 1",
        {},
    ),
    (
        "interleaved-microbatches",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 3\n"
        "    micro_batch_size: 1\n    global_batch_size: 6 #<",
        "parameters:\n  model:\n    pipeline_model_parallel_size: 4\n    virtual_pipeline_model_parallel_size: 3\n"
        "    micro_batch_size: 1\n    global_batch_size: 8",
        {},
    ),
    (
        "sequence-parallel-tp",
        "parameters:\n  model:\n    sequence_parallel: true #<",
        "parameters:\n  model:\n    sequence_parallel: true\n    tensor_model_parallel_size: 2",
        {},
    ),
    (
        "seq-divisible-tp",
        "parameters:\n  model:\n    tensor_model_parallel_size: 4\n    sequence_parallel: true\n"
        "    encoder_seq_length: 2050 #<\n    max_position_embeddings: 2050",
        "parameters:\n  model:\n    tensor_model_parallel_size: 4\n    sequence_parallel: true\n"
        "    encoder_seq_length: 2048",
        {},
    ),
    (
        "seq-divisible-cp",
        "parameters:\n  model:\n    context_parallel_size: 2\n    encoder_seq_length: 2047 #<",
        "parameters:\n  model:\n    context_parallel_size: 2\n    encoder_seq_length: 2048",
        {},
    ),
    (
        "rampup-batch-size",
        "parameters:\n  model:\n    rampup_batch_size: [32, 48, 1000000] #<",
        "parameters:\n  model:\n    rampup_batch_size: [32, 32, 1000000]",
        {},
    ),
    (
        "accumulate-grad-batches",
        "parameters:\n  trainer:\n    accumulate_grad_batches: 2 #<",
        "parameters:\n  trainer:\n    accumulate_grad_batches: 1",
        {},
    ),
    (
        "hidden-divisible-heads",
        "parameters:\n  model:\n    hidden_size: 760 #<",
        "parameters:\n  model:\n    hidden_size: 760\n    kv_channels: 64",
        {},
    ),
    (
        "recompute-config",
        "parameters:\n  model:\n    activations_checkpoint_granularity: selective\n"
        "    activations_checkpoint_num_layers: 1 #<",
        "parameters:\n  model:\n    activations_checkpoint_granularity: selective",
        {},
    ),
    (
        "ub-overlap-sp",
        "parameters:\n  model:\n    ub_tp_comm_overlap: true #<",
        "parameters:\n  model:\n    ub_tp_comm_overlap: true\n    sequence_parallel: true\n"
        "    tensor_model_parallel_size: 2",
        {},
    ),
    (
        "grad-accum-fusion",
        "parameters:\n  model:\n    megatron_amp_O2: false\n    gradient_accumulation_fusion: true #<",
        "parameters:\n  model:\n    gradient_accumulation_fusion: true\n    optim:\n      name: distributed_fused_adam",
        {},
    ),
    (
        "fp16-o2",
        "parameters:\n  trainer:\n    precision: 16 #<",
        "parameters:\n  trainer:\n    precision: 16\n  model:\n    optim:\n      name: distributed_fused_adam",
        {},
    ),
    (
        "fsdp-fp8",
        "parameters:\n  model:\n    fsdp: true\n    fp8: true #<",
        "parameters:\n  model:\n    fsdp: true\n    fp8: false",
        {},
    ),
    ("seed-positive", "parameters:\n  model:\n    seed: 0 #<", "parameters:\n  model:\n    seed: 1234", {}),
    (
        "position-embeddings",
        "parameters:\n  model:\n    max_position_embeddings: 1024 #<",
        "parameters:\n  model:\n    max_position_embeddings: 1024\n    position_embedding_type: rope",
        {},
    ),
    (
        "limit-val-batches",
        "parameters:\n  trainer:\n    limit_val_batches: 50.0 #<",
        "parameters:\n  trainer:\n    limit_val_batches: 0.5",
        {},
    ),
    (
        "max-time-format",
        "parameters:\n  trainer:\n    max_time: 23:30:00 #<",
        "parameters:\n  trainer:\n    max_time: {hours: 23, minutes: 30}",
        {},
    ),
    ("max-time-duration", "scheduling:\n  max_duration: 12 #<", "scheduling:\n  max_duration: 24", {}),
    (
        "resume-checkpoint",
        "scheduling:\n  retry_on_system_failure: true\nparameters:\n  exp_manager:\n    exp_dir: /tmp/ckpt #<",
        "scheduling:\n  retry_on_system_failure: true\nparameters:\n  exp_manager:\n    exp_dir: s3://bucket/gpt",
        {},
    ),
    (
        "multi-node-launcher",
        "integrations: #<\n  - integration_type: pip_packages\n    packages: [wandb]",
        "integrations:\n  - integration_type: apt_packages\n    packages: [parallel]\n"
        "  - integration_type: pip_packages\n    packages: [wandb]",
        {"node": "multi_node"},
    ),
    (
        "data-prefix",
        "parameters:\n  model:\n    data:\n      data_prefix: [/mnt/d/train, /mnt/d/val, /mnt/d/test] #<",
        "parameters:\n  model:\n    data:\n      data_prefix:\n        train: [1.0, /mnt/d/train]\n"
        "        validation: /mnt/d/val\n        test: [/mnt/d/test]",
        {"data": False},
    ),
    (
        "splits-string",
        "parameters:\n  model:\n    data:\n      splits_string: 98,2,0 #<",
        "parameters:\n  model:\n    data:\n      splits_string: 980,19,1",
        {},
    ),
    (
        "tokenizer-files",
        "parameters:\n  model:\n    tokenizer:\n      vocab_file: null #<",
        "parameters:\n  model:\n    tokenizer:\n      vocab_file: /mnt/data/bpe/vocab.json",
        {},
    ),
    (
        "data-seq-length",
        "parameters:\n  model:\n    data:\n      seq_length: 4096 #<",
        "parameters:\n  model:\n    data:\n      seq_length: ${model.encoder_seq_length}",
        {},
    ),
    (
        "memory-capacity",  # NeMo's own attention (no Transformer Engine) keeps the a·s² scores
        "parameters:\n  model:\n    transformer_engine: false\n    micro_batch_size: 32 #<",
        "parameters:\n  model:\n    transformer_engine: false\n    micro_batch_size: 4",
        {},
    ),
]
OURS = sorted({c[0] for c in CASES})


def test_the_base_run_is_clean(repo):
    rel = repo.write("runs/experiments/t.yaml", run_text(""))
    assert errors(repo.check(rel)) == []


@pytest.mark.parametrize("rule_id,bad,good,layers", CASES, ids=[c[0] for c in CASES])
def test_rule_points_at_the_line_and_passes_when_fixed(repo, rule_id, bad, good, layers):
    text = run_text(bad, **layers)
    rel = repo.write("runs/experiments/t.yaml", text)
    got = hits(composed(repo.check(rel)), rule_id)
    assert any(f.file == rel and f.line == marked_line(text) for f in got), (rule_id, got)
    repo.write("runs/experiments/t.yaml", run_text(good, **layers))
    assert hits(composed(repo.check(rel)), rule_id) == []


def test_the_cli_reports_rule_file_and_line_as_json(repo):
    text = run_text(CASES[0][1])
    rel = repo.write("runs/experiments/t.yaml", text)
    code, findings = repo.cli_check(rel)
    assert code == 1
    assert {"rule": "expert-parallel-dp", "file": rel, "line": marked_line(text)}.items() <= next(
        f for f in findings if f["rule"] == "expert-parallel-dp"
    ).items()


# Second failing shapes of the same rules, and release bounds.
MORE = [
    (
        "recompute-config",
        "parameters:\n  model:\n    activations_checkpoint_granularity: full\n"
        "    activations_checkpoint_method: null #<\n    activations_checkpoint_num_layers: 1",
        {},
    ),
    ("recompute-config", "parameters:\n  model:\n    activations_checkpoint_granularity: ful #<", {}),
    ("grad-accum-fusion", "parameters:\n  model:\n    gradient_accumulation_fusion: true #<", {}),
    ("max-time-format", "parameters:\n  trainer:\n    max_time: 6:11:00:00 #<", {}),
    ("max-time-duration", "scheduling:\n  max_duration: 23.6 #<", {}),
    (
        "resume-checkpoint",
        "scheduling:\n  max_retries: 2\nparameters:\n  exp_manager:\n"
        "    resume_if_exists: false #<\n    exp_dir: s3://bucket/gpt",
        {},
    ),
    ("data-prefix", "parameters:\n  model:\n    data:\n      data_prefix: [0, /mnt/d/a, 0, /mnt/d/b] #<", {}),
    (
        "data-prefix",
        "parameters:\n  model:\n    data:\n      data_prefix:\n        - 1.0\n        - /mnt/d/a_text_document.bin #<",
        {},
    ),
    (
        "data-prefix",
        "parameters:\n  model:\n    data:\n      data_prefix: #<\n        train: /mnt/d/a\n"
        "        validation: /mnt/d/b\n        test: /mnt/d/c",
        {"nemo": "v1_11", "data": False},
    ),
    ("splits-string", "parameters:\n  model:\n    data:\n      splits_string: 100 #<", {}),
    ("rampup-batch-size", "parameters:\n  model:\n    rampup_batch_size: [32, 32] #<", {}),
    ("memory-capacity", "parameters:\n  model:\n    transformer_engine: false\n    micro_batch_size: 18 #<\n"
     "    global_batch_size: 288", {}),
]


@pytest.mark.parametrize("rule_id,bad,layers", MORE, ids=[f"{c[0]}-{i}" for i, c in enumerate(MORE)])
def test_more_failing_shapes(repo, rule_id, bad, layers):
    text = run_text(bad, **layers)
    rel = repo.write("runs/experiments/t.yaml", text)
    got = hits(repo.check(rel), rule_id)
    assert any(f.file == rel and f.line == marked_line(text) for f in got), (rule_id, got)


def test_warnings_are_warnings(repo):
    text = run_text("scheduling:\n  max_duration: 23.6")
    rel = repo.write("runs/experiments/t.yaml", text)
    assert {f.severity for f in hits(repo.check(rel), "max-time-duration")} == {"warning"}
    repo.write(rel, run_text("parameters:\n  model:\n    transformer_engine: false\n    micro_batch_size: 18\n"
                             "    global_batch_size: 288"))
    assert {f.severity for f in hits(repo.check(rel), "memory-capacity")} == {"warning"}


def test_release_bounds(repo):
    """rampup_batch_size is a 1.20+ key; interleaving with PP 2 is refused up to NeMo 2.0."""
    rel = repo.write("runs/experiments/t.yaml", run_text(CASES[10][1].replace(" #<", ""), nemo="v1_13"))
    assert hits(repo.check(rel), "rampup-batch-size") == []
    repo.write(
        rel,
        run_text(
            "parameters:\n  model:\n    activations_checkpoint_granularity: selective\n"
            "    activations_checkpoint_num_layers: 1",
            nemo="v1_23",
        ),
    )
    assert hits(repo.check(rel), "recompute-config") == []  # the legacy (non-mcore) model ignores it


def test_messages_cite_the_other_layer(repo):
    text = run_text("parameters:\n  model:\n    num_attention_heads: 10 #<")
    rel = repo.write("runs/experiments/t.yaml", text)
    (hit,) = hits(repo.check(rel), "hidden-divisible-heads")
    assert hit.line == marked_line(text) and "runs/model/gpt3_126m.yaml:" in hit.message
    text = run_text("parameters:\n  model:\n    tensor_model_parallel_size: 2\n    ffn_hidden_size: 3071")
    repo.write(rel, text)
    (hit,) = hits(repo.check(rel), "ffn-divisible-tp")
    tp_line = next(i for i, line in enumerate(text.splitlines(), 1) if "tensor_model_parallel_size" in line)
    assert "3071" in hit.message and f"{rel}:{tp_line}" in hit.message


def test_a_policy_key_set_to_null_is_unset(repo):
    """`persistent_paths: null` means the default prefixes, as null means "unset" for every policy key
    (resume-checkpoint iterated over the None and crashed: found by mypy)."""
    repo.policy(persistent_paths="null")
    restartable = "scheduling:\n  max_retries: 2\nparameters:\n  exp_manager:\n    resume_if_exists: true\n"
    rel = repo.write("runs/experiments/t.yaml", run_text(restartable + "    exp_dir: s3://bucket/gpt"))
    findings = repo.check(rel)
    assert hits(findings, "internal") == [] and hits(findings, "resume-checkpoint") == []
    repo.write(rel, run_text(restartable + "    exp_dir: /tmp/gpt"))
    (hit,) = hits(repo.check(rel), "resume-checkpoint")
    assert "/mnt/checkpoints, s3://" in hit.message and "runrepo's default" in hit.message
