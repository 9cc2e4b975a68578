"""Real-world acceptance: NVIDIA's launcher presets (GPT-3, Llama, Mistral, Mixtral, Nemotron) and NeMo's
default config of every release 1.11-2.4 pass every rule as the complete `parameters` of a run of their
size on their release; broken copies, one per rule, are caught."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from rulekit import composed, corpus, errors, hits
from runrepo.check import expand
from runrepo.compose.gate import parse_yaml
from runrepo.compose.layers import TreeSource
from runrepo.estimate import estimate_run, max_time_seconds

PRESETS = ("126m", "400m_improved", "1b_improved", "5b", "20b", "40b", "175b")
FAMILIES = ("gpt3", "llama", "mistral", "mixtral", "nemotron")
RELEASES = [f"1.{m}" for m in range(11, 24)] + [f"2.{m}" for m in range(5)]
HEAD = "2.4"  # the launcher's HEAD presets (26e42fa, April 2025) target NeMo 2.x: the newest 2.x layer
DATA = [1.0, "/mnt/data/pile/pile_00_text_document"]
LAYERS = Path(__file__).resolve().parents[2] / "runs" / "nemo"


def layer(release: str) -> dict:
    """image and runrepo of the runs/nemo layer of `release`."""
    return yaml.safe_load((LAYERS / f"v{release.replace('.', '_')}.yaml").read_text())


def load_preset(name: str, family: str = "gpt3") -> tuple[dict, int]:
    path = corpus("nemo-launcher", family, f"{name}.yaml")
    text = path.read_text()
    params = parse_yaml(text, str(path))[0]
    nodes, devices = params["trainer"]["num_nodes"], params["trainer"]["devices"]
    assert devices == 8
    return params, nodes


def load_default(release: str) -> dict:
    path = corpus("nemo", "megatron_gpt_config", f"v{release}.0.yaml")
    params = parse_yaml(path.read_text(), str(path))[0]
    params.pop("defaults", None)  # NeMo's own Hydra defaults list; runs/nemo/ layers drop it too
    params["model"]["data"]["data_prefix"] = list(DATA)
    return params


def write_run(repo, name: str, params: dict, *, release="2.0", nodes=1, cluster="r7z2", **top) -> str:
    hours = (max_time_seconds(params["trainer"].get("max_time")) or 0) / 3600
    run = {
        "defaults": [
            "/base",
            {"/cluster": cluster},
            {"/node": "single_node" if nodes == 1 else "multi_node"},
            "_self_",
        ],
        "name": name,
        "image": layer(release)["image"],
        "runrepo": dict(layer(release)["runrepo"]),
        "compute": {"nodes": nodes},
        "scheduling": {"max_duration": max(24, math.ceil(hours) + 1)},
        "parameters": params,
    }
    for dotted, value in top.items():
        node = run
        *keys, last = dotted.split("__")
        for k in keys:
            node = node.setdefault(k, {})
        node[last] = value
    return repo.write(f"runs/experiments/{name}.yaml", "# @package _global_\n" + yaml.safe_dump(run, sort_keys=False))


def big_policy(repo):
    """The launcher's 175b runs on 1,024 GPUs for 26 days: an acceptance policy that admits it."""
    repo.policy(
        max_gpus_per_run=8192,
        max_gpu_hours_per_run=10_000_000,
        max_gpu_hours_per_pr=10_000_000,
        max_duration_hours=1000,
    )


@pytest.mark.parametrize("name", PRESETS)
def test_launcher_preset_passes_every_rule_and_fits(repo, name):
    big_policy(repo)
    params, nodes = load_preset(name)
    rel = write_run(repo, f"preset-{name.replace('_', '-')}", params, nodes=nodes)
    assert errors(composed(repo.check(rel))) == []
    resolved, _ = expand(TreeSource(repo.root), rel[len("runs/") : -len(".yaml")])
    est = estimate_run(resolved.run, resolved.tool)
    assert est["fits"] is True and est["memory"]["fraction"] < 1.0, est["summary"]
    assert est["layout"]["world_size"] == nodes * 8


ALL_PRESETS = [
    (family, p.stem)
    for family in FAMILIES
    for p in sorted((Path(__file__).resolve().parents[2] / "tests" / "data" / "corpus" / "nemo-launcher" / family).glob("*.yaml"))
]
# NVIDIA's own typo: nemotron_340b sets `deteministic_mode`; NeMo ignores it and trains with
# deterministic_mode False. nemo-unknown-key reports it as the typo it is.
KNOWN_TYPOS = {("nemotron", "nemotron_340b"): {("parameters", "model", "deteministic_mode")}}
# Presets NeMo's source refuses, as resolved at 26e42fa: global_batch_size 1 with data-parallel size 24, and
# 4096-token samples on a PP 2 pipeline whose buffers NeMo sizes by encoder_seq_length 65536.
KNOWN_BROKEN = {("mixtral", "mixtral_8x22b"): {"batch-divisible", "data-seq-length"}}
SENTENCEPIECE = "/mnt/data/tokenizer/tokenizer.model"  # a user input, like data_prefix: the presets leave it null
# Keys a preset sets that no code of NeMo 2.4 reads (grep of the nemo_toolkit 2.4.0 wheel): warnings are right.
UNREAD = {("parameters", "model", "nsys_profile", "trace")}


@pytest.mark.parametrize("family,name", ALL_PRESETS, ids=[f"{f}/{n}" for f, n in ALL_PRESETS])
def test_every_launcher_preset_passes_on_its_release(repo, family, name):
    big_policy(repo)
    params, nodes = load_preset(name, family)
    tok = params["model"]["tokenizer"]
    if tok.get("library") == "sentencepiece" and tok.get("model") is None:
        tok["model"] = SENTENCEPIECE
    rel = write_run(repo, f"{family}-{name.replace('_', '-')}", params, release=HEAD, nodes=nodes, cluster="r9z1")
    findings = composed(repo.check(rel))
    typos = KNOWN_TYPOS.get((family, name), set())
    unknown = [f for f in findings if f.rule == "nemo-unknown-key"]
    bad = [f for f in errors(findings) if f.rule not in ("nemo-unknown-key", "memory-capacity")]
    assert {f.rule for f in bad} == KNOWN_BROKEN.get((family, name), set()), [f.message for f in bad]
    assert {f.message.split("`")[1] for f in unknown if f.severity == "error"} == {".".join(p[1:]) for p in typos}
    # a warning names a key NeMo 2.4 does not read; every one of them is listed in UNREAD
    warned = {f.message.split("`")[1] for f in unknown if f.severity == "warning"}
    assert warned <= {".".join(p[1:]) for p in UNREAD}, warned
    memory = [f for f in errors(findings) if f.rule == "memory-capacity"]
    if memory:  # the estimator assumes unfused attention (issue: memory estimate of fused attention)
        pytest.xfail(f"memory-capacity only, pending the estimator's fused-attention model: {memory[0].message}")


@pytest.mark.parametrize("release", RELEASES)
def test_nemo_default_config_passes_under_its_release(repo, release):
    rel = write_run(
        repo, f"nemo-default-{release.replace('.', '-')}", load_default(release), release=release, cluster="one_gpu"
    )
    findings = composed(repo.check(rel))
    assert errors(findings) == []
    assert [f for f in findings if f.rule == "nemo-unknown-key"] == []
    # NeMo's defaults leave the tokenizer files null: a warning, since NeMo downloads them
    assert {f.severity for f in hits(findings, "tokenizer-files")} == {"warning"}


def _set(params: dict, dotted: str, value) -> None:
    *keys, last = dotted.split(".")
    node = params
    for k in keys:
        node = node[k]
    if value is _DROP:
        node.pop(last)
    else:
        node[last] = value


_DROP = object()
# rule id, preset, {dotted parameter path: value}, {run-level key (a__b for a.b): value}
BROKEN = [
    ("expert-parallel-dp", "126m", {"model.expert_model_parallel_size": 3}, {}),
    ("query-groups-tp", "20b", {"model.num_query_groups": 3}, {}),
    ("ffn-divisible-tp", "20b", {"model.ffn_hidden_size": 24575}, {}),
    ("vp-layers", "175b", {"model.virtual_pipeline_model_parallel_size": 5}, {}),
    ("vp-pipeline-size", "175b", {"model.pipeline_model_parallel_size": 2}, {}),
    ("vp-needs-o2", "175b", {"model.megatron_amp_O2": False}, {}),
    ("interleaved-microbatches", "175b", {"model.global_batch_size": 2080}, {}),
    ("sequence-parallel-tp", "5b", {"model.sequence_parallel": True}, {}),
    ("seq-divisible-tp", "20b", {"model.encoder_seq_length": 2049}, {}),
    ("seq-divisible-cp", "126m", {"model.context_parallel_size": 2, "model.encoder_seq_length": 2046}, {}),
    ("rampup-batch-size", "126m", {"model.rampup_batch_size": [32, 48, 1000]}, {}),
    ("accumulate-grad-batches", "126m", {"trainer.accumulate_grad_batches": 2}, {}),
    ("hidden-divisible-heads", "126m", {"model.hidden_size": 760}, {}),
    (
        "recompute-config",
        "5b",
        {"model.activations_checkpoint_granularity": "selective", "model.activations_checkpoint_num_layers": 1},
        {},
    ),
    ("ub-overlap-sp", "5b", {"model.ub_tp_comm_overlap": True}, {}),
    ("grad-accum-fusion", "126m", {"model.megatron_amp_O2": False}, {}),
    ("fp16-o2", "126m", {"trainer.precision": 16, "model.optim.name": "fused_adam"}, {}),
    ("fsdp-fp8", "126m", {"model.fsdp": True, "model.fp8": True}, {}),
    ("seed-positive", "126m", {"model.seed": -1}, {}),
    ("position-embeddings", "126m", {"model.max_position_embeddings": 1024}, {}),
    ("limit-val-batches", "126m", {"trainer.limit_val_batches": 2.0}, {}),
    ("max-time-format", "40b", {"trainer.max_time": 1335600}, {}),  # `max_time: 6:11:00:00` unquoted
    ("max-time-duration", "175b", {}, {"scheduling__max_duration": 600}),
    ("resume-checkpoint", "126m", {}, {"scheduling__preemptible": True}),
    (
        "multi-node-launcher",
        "126m",
        {},
        {"integrations": [{"integration_type": "pip_packages", "packages": ["wandb"]}]},
    ),
    ("data-prefix", "175b", {"model.data.data_prefix": ["/data/my-gpt3_00_text_document", 0.5]}, {}),
    ("splits-string", "126m", {"model.data.splits_string": "99990,10,0"}, {}),
    ("tokenizer-files", "126m", {"model.tokenizer.merge_file": None}, {}),
    ("data-seq-length", "126m", {"model.data.seq_length": 1024}, {}),
    ("memory-capacity", "5b", {"model.micro_batch_size": 8}, {}),
]


@pytest.mark.parametrize("rule_id,preset,changes,top", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_preset_is_caught(repo, rule_id, preset, changes, top):
    big_policy(repo)
    params, nodes = load_preset(preset)
    params = copy.deepcopy(params)
    for dotted, value in changes.items():
        _set(params, dotted, value)
    rel = write_run(repo, "broken", params, nodes=nodes, **top)
    assert hits(composed(repo.check(rel)), rule_id), rule_id


def test_broken_copies_cover_every_rule_of_nemos_runtime_table():
    """Every rule of NeMo's runtime table (the nemo, data and memory families and the batch and
    parallel rules) is broken in at least one copy of a real preset."""
    from runrepo.rules import all_rules

    runtime = {r.id for r in all_rules().values() if r.family in ("nemo", "data", "memory", "batch", "parallel")}
    assert runtime - {b[0] for b in BROKEN} <= {"batch-divisible", "parallel-world", "heads-divisible-tp",
                                                  "layers-divisible-pp"}  # the foundation rules: test_rules_cases


@pytest.mark.parametrize(
    "rule_id,release,changes",
    [
        (
            "vp-needs-o2",
            "1.13",
            {"model.virtual_pipeline_model_parallel_size": 2, "model.pipeline_model_parallel_size": 1},
        ),
        ("fp16-o2", "1.23", {"model.megatron_amp_O2": True}),
        (
            "data-prefix",
            "1.11",
            {"model.data.data_prefix": {"train": list(DATA), "validation": list(DATA), "test": list(DATA)}},
        ),
        ("recompute-config", "1.11", {"model.activations_checkpoint_granularity": "full"}),
    ],
)
def test_broken_default_is_caught(repo, rule_id, release, changes):
    params = load_default(release)
    for dotted, value in changes.items():
        _set(params, dotted, value)
    rel = write_run(repo, "broken-default", params, release=release, cluster="one_gpu")
    assert hits(composed(repo.check(rel)), rule_id), rule_id


RECOMPUTE = "model.activations_checkpoint_"


@pytest.mark.parametrize(
    "release,changes,severity",
    [  # NeMo 1.11 transformer.py: full + block with 0 layers only logs and checkpoints nothing
        ("1.11", {"granularity": "full", "method": "block", "num_layers": 0}, "warning"),
        ("1.11", {"granularity": "full", "method": "uniform", "num_layers": 0}, "error"),  # l += 0 never ends
        ("1.11", {"granularity": "full", "method": "block", "num_layers": None}, "error"),  # l < None: TypeError
        ("1.12", {"granularity": "selective", "method": None, "num_layers": 0}, "warning"),  # legacy: 0 is unset
        ("1.12", {"granularity": "selective", "method": None, "num_layers": 2}, "error"),  # legacy <= 1.12 raises
        ("2.4", {"granularity": "selective", "method": None, "num_layers": 0}, "error"),  # mcore: must be None
        ("2.4", {"granularity": "full", "method": "block", "num_layers": 0}, "warning"),
    ],
)
def test_recompute_config_says_what_nemo_does(repo, release, changes, severity):
    params = load_default(release)
    for key, value in changes.items():
        _set(params, RECOMPUTE + key, value)
    rel = write_run(repo, "recompute", params, release=release, cluster="one_gpu")
    assert [f.severity for f in hits(composed(repo.check(rel)), "recompute-config")] == [severity]


DIGEST = "sha256:" + "0f" * 32


@pytest.mark.parametrize(
    "image,expected",
    [
        (f"nvcr.io/nvidia/nemo:25.07@{DIGEST}", []),  # the tag decides, the digest is kept
        (f"nvcr.io/nvidia/nemo@{DIGEST}", [("image-release", "warning")]),  # the layer declares 2.4
        ("nvcr.io/nvidia/nemo:25.07@sha256:xyz", [("image-pinned", "error")]),
        ("nvcr.io/nvidia/nemo:24.12", [("image-release", "error")]),  # 2.1, not the layer's 2.4
    ],
)
def test_image_pins(repo, image, expected):
    rel = write_run(repo, "pinned", load_default("2.4"), release="2.4", cluster="one_gpu", image=image)
    found = composed(repo.check(rel))
    assert [(f.rule, f.severity) for f in found if f.rule in ("image-release", "image-pinned")] == expected
    rendered = [f for f in found if f.rule == "image-release"]
    assert all("cannot confirm NeMo 2.4" in f.message for f in rendered if f.severity == "warning")
