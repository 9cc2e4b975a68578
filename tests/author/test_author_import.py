"""`runrepo import`: the seed files become run files that pass `check` once the reported placeholders
are filled; non-NeMo mcli files are reported field by field and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = "/mnt/data/pile/pile_00_text_document"


def imported(cli, repo, legacy: Path, *args):
    code, out, err = cli("import", str(legacy), "--repo", str(repo), *args)
    return code, out, err.splitlines()


def notes(lines: list[str], kind: str) -> list[str]:
    return [line for line in lines if f": {kind}: " in line]


def line_no(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_single_node_seed(cli, repo, corpus):
    seed = corpus / "mcli" / "seed" / "single_node.yaml"
    code, out, err = imported(cli, repo, seed)
    assert code == 0 and out == ""
    run = repo / "runs" / "experiments" / "nemo-megatron-gpt-124m-gpu-8.yaml"
    text = run.read_text()
    assert text.startswith("# @package _global_\n")
    for line in (
        "  - /nemo: v1_14",
        "  - /cluster: r0z0",
        "  - /node: single_node",
        "name: nemo-megatron-gpt-124m-gpu-8",
        "data_prefix: [1.0, /your_dataset_path_here/]",
        "name: fused_adam",
    ):
        assert line in text
    assert "devices" not in text and "num_nodes" not in text and "tokenizer" not in text and "wget" not in text
    assert "/model:" not in text  # gpt3_126m would train 2048-token sequences, not the source's 512
    assert "    precision: 16\n" in text and "megatron_amp_O2: false" in text  # base.yaml's bf16 + O2 written back
    assert len(text.splitlines()) <= 22
    s = str(seed)
    retired = notes(err, "retired")
    assert f"{s}:1: retired: `run_name` is retired: now `name` 'nemo-megatron-gpt-124m-gpu-8'" in retired
    assert f"{s}:2: retired: `cluster` is retired: now `compute.cluster` 'r0z0'" in retired
    assert f"{s}:3: retired: `gpu_num` is retired: now `compute.gpus` 8" in retired
    assert any(x.startswith(f"{s}:8: retired: `env_variables` as a list") for x in retired)
    attention = notes(err, "attention")
    assert any(x.startswith(f"{s}:2: attention: cluster 'r0z0' is not a cluster") for x in attention)
    prefix_line = line_no(seed, "model.data.data_prefix=")
    assert any(x.startswith(f"{s}:{prefix_line}: attention:") and "placeholder" in x for x in attention)
    assert any("gpt2-vocab.json" in x and "downloaded" in x for x in attention)
    dropped = notes(err, "dropped")
    assert any(
        x.startswith(f"{s}:{line_no(seed, 'trainer.devices=8')}: dropped: `trainer.devices=8`: derived")
        for x in dropped
    )
    assert sum("wget" in x for x in dropped) == 2
    assert any("image nvcr.io/nvidia/nemo:22.11 -> /nemo: v1_14" in x for x in notes(err, "mapped"))
    assert err[-1].startswith(f"wrote {run}:") and "need your attention" in err[-1]

    code, findings = cli.findings(repo, "runs/experiments/nemo-megatron-gpt-124m-gpu-8.yaml")
    assert code == 1 and findings[0]["rule"] == "layer-missing"  # refused until the cluster is chosen
    run.write_text(text.replace("/cluster: r0z0", "/cluster: r7z2"))
    code, findings = cli.findings(repo, "runs/experiments/nemo-megatron-gpt-124m-gpu-8.yaml")
    assert code == 1 and {f["rule"] for f in findings if f["severity"] == "error"} == {"placeholder", "batch-divisible"}
    run.write_text(run.read_text().replace("/your_dataset_path_here/", DATA))
    code, findings = cli.findings(repo, "runs/experiments/nemo-megatron-gpt-124m-gpu-8.yaml")
    # the seed's own batch: global 8 over micro 4 x 8 GPUs does not divide (NeMo refuses it too)
    assert code == 1 and [f["rule"] for f in findings if f["severity"] == "error"] == ["batch-divisible"]


def test_multi_node_seed(cli, repo, corpus):
    seed = corpus / "mcli" / "seed" / "multi_node.yaml"
    code, _, err = imported(cli, repo, seed)
    assert code == 0
    run = repo / "runs" / "experiments" / "nemo-megatron-gpt-124m-gpu-16.yaml"
    text = run.read_text()
    assert "  - /node: multi_node" in text and "compute:\n  nodes: 2\n" in text
    assert "  - /cluster: ???  # runrepo import: choose one of r1z1, r7z2, r9z1" in text
    assert "integrations" not in text  # the profile installs parallel
    s = str(seed)
    attention = notes(err, "attention")
    assert any(x.startswith(f"{s}:1: attention: no cluster is given") for x in attention)
    broken = [x for x in attention if "separate single-GPU trainings, not one job" in x]
    assert len(broken) == 1 and broken[0].startswith(f"{s}:{line_no(seed, 'parallel -u')}:")
    assert any("`trainer.devices=1` is replaced by 8" in x for x in attention)
    assert any("16 GPUs -> 2 node(s) of 8" in x for x in notes(err, "mapped"))
    assert any("apt package parallel: the multi_node profile installs it" in x for x in notes(err, "mapped"))
    assert notes(err, "retired") == [
        f"{s}:10: retired: `env_variables` as a list of {{key, value}} is retired: now a mapping"
    ]

    assert any("parameters.trainer.num_nodes is 2 in the run" in x for x in attention)

    run.write_text(text.replace("/cluster: ???", "/cluster: r9z1").replace("/your_dataset_path_here/", DATA))
    code, findings = cli.findings(repo, "runs/experiments/nemo-megatron-gpt-124m-gpu-16.yaml")
    assert code == 1 and [f["rule"] for f in findings if f["severity"] == "error"] == ["batch-divisible"]


@pytest.mark.parametrize(
    "name, retired",
    [
        (
            "mcli-hf-eval.yaml",
            {14: "`run_name` is retired: now `name` 'mpt-eval'", 15: "`gpu_num` is retired: now `compute.gpus` 8"},
        ),
        (
            "mcli-openai-eval.yaml",
            {
                14: "`run_name` is retired: now `name` 'openai-eval'",
                15: "`gpu_num` is retired: now `compute.gpus` (empty)",
                16: "`gpu_type` is retired: now `compute.gpu_type` (empty)",
                17: "`cluster` is retired: now `compute.cluster` (empty)",
            },
        ),
    ],
)
def test_llm_foundry_files_are_reported_and_not_written(cli, repo, corpus, name, retired):
    legacy = corpus / "mcli" / "llm-foundry" / name
    before = sorted((repo / "runs" / "experiments").iterdir())
    code, out, err = imported(cli, repo, legacy)
    assert code == 1 and out == ""
    assert sorted((repo / "runs" / "experiments").iterdir()) == before
    s = str(legacy)
    assert notes(err, "retired") == [f"{s}:{line}: retired: {msg}" for line, msg in retired.items()]
    (fields,) = notes(err, "fields")
    assert "modern integrations, command, image, parameters" in fields and "retired run_name, gpu_num" in fields
    (why,) = notes(err, "attention")
    assert "not a NeMo Megatron GPT run" in why and "Composer config" in why and "Nothing written" in why
    assert err[-1] == f"{s}: nothing written"


def test_modern_legacy_file_keeps_what_the_layers_do_not_say(cli, repo, tmp_path):
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text(
        """\
name: My_Run
image: nvcr.io/nvidia/nemo:24.07
compute:
  cluster: r9z1
  gpu_type: a100_80gb
  gpus: 12
scheduling:
  max_duration: 6
env_variables:
  WANDB_PROJECT: gpt
integrations:
  - integration_type: pip_packages
    packages: [wandb]
flavor: spicy
command: |
  cd /opt/NeMo
  torchrun --nproc_per_node 8 examples/nlp/language_modeling/megatron_gpt_pretraining.py \\
    --config-path=/mnt/config --config-name=parameters \\
    model.num_layers=20 model.hidden_size=2048 model.num_attention_heads=16 \\
    +model.extra=1 ~model.bogus 'model.data.data_prefix=[1.0,/data/x]' model.bad=[1,
"""
    )
    code, out, err = imported(cli, repo, legacy, "-o", "-")
    assert code == 0
    assert "  - /nemo: v2_0" in out and "image: nvcr.io/nvidia/nemo:24.07" in out
    assert "name: my-run" in out and "  - /node: multi_node" in out and "compute:\n  nodes: 2\n" in out
    assert "max_duration: 6" in out and "WANDB_PROJECT: gpt" in out
    assert "- integration_type: apt_packages" in out and "- integration_type: pip_packages" in out  # profile kept
    assert "num_layers: 20" in out and "extra: 1" in out and "data_prefix: [1.0, /data/x]" in out
    assert "/model:" not in out  # no preset has 20 x 2048: NeMo's defaults plus the overrides
    assert "bogus" not in out and "flavor" not in out and "cd /opt/NeMo" not in out
    attention = "\n".join(notes(err, "attention"))
    for needle in (
        "name 'My_Run' is not a valid platform name",
        "gpu_type a100_80gb differs from r9z1's h100_80gb",
        "12 GPUs is not whole nodes of 8",
        "`~model.bogus` deletes a key",
        "`flavor` is not an mcli run",
        "`model.bad=[1,` does not parse",
    ):
        assert needle in attention
    assert any("launcher `torchrun`" in x for x in notes(err, "dropped"))
    assert any("the closest preset, gpt3_1b_improved, would change" in x for x in notes(err, "kept"))
    assert not list((repo / "runs" / "experiments").glob("my-run.yaml"))  # -o - writes nothing


def test_output_path_and_refusals(cli, repo, corpus, tmp_path):
    seed = corpus / "mcli" / "seed" / "single_node.yaml"
    out = tmp_path / "x.yaml"
    code, _, _ = imported(cli, repo, seed, "-o", str(out))
    assert code == 0 and out.is_file()
    code, _, err = imported(cli, repo, seed, "-o", str(out))
    assert code == 2 and "exists already" in err[-1]


@pytest.mark.parametrize(
    "text, expected",
    [("- just\n- a list\n", ":1:1: error[import-form]"), ("name: [unclosed\n", ":1:7: error[yaml-syntax]")],
)
def test_bad_input_is_one_line_not_a_traceback(cli, repo, tmp_path, text, expected):
    legacy = tmp_path / "bad.yaml"
    legacy.write_text(text)
    code, _, err = imported(cli, repo, legacy)
    assert code != 0 and len(err) == 1 and expected in err[0] and "Traceback" not in err[0]


def test_missing_file(cli, repo, tmp_path):
    code, _, err = imported(cli, repo, tmp_path / "nope.yaml")
    assert code == 2 and err == [f"{tmp_path / 'nope.yaml'}: error[usage] no such file"]


FIELDS = [
    "name",
    "run_name",
    "image",
    "command",
    "compute",
    "cluster",
    "gpu_num",
    "gpu_type",
    "scheduling",
    "integrations",
    "env_variables",
    "parameters",
    "metadata",
    "extra",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 64),
    st.sampled_from(
        [
            "nvcr.io/nvidia/nemo:22.11",
            "nvcr.io/nvidia/nemo:24.07",
            "nvcr.io/nvidia/nemo:99.01",
            "r7z2",
            "r0z0",
            "a100_80gb",
            "/your_dataset_path_here/",
            "python3 megatron_gpt_pretraining.py model.x=1 trainer.devices=8",
            "seq 0 7 | parallel -u 'python megatron_gpt_pretraining.py ~a +b=[1,' \\\n trainer.num_nodes=2",
            "x: y",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(
            st.sampled_from(["key", "value", "gpus", "cluster", "nodes", "integration_type", "packages"]),
            kids,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=8))
def test_any_mapping_imports_or_fails_in_one_line(repo, tmp_path, doc):
    """Whatever the field types, import either writes a run file that composes into findings, or says why."""
    import yaml
    from runrepo.author.legacy import import_legacy
    from runrepo.compose.gate import parse_yaml
    from runrepo.errors import RunrepoError

    legacy = tmp_path / "legacy.yaml"
    legacy.write_text(yaml.safe_dump(doc))
    try:
        imp = import_legacy(legacy, repo)
    except RunrepoError as e:
        assert str(e).count("\n") == 0
        return
    if imp.text:
        data, _ = parse_yaml(imp.text, "out.yaml")
        assert isinstance(data, dict) and data["name"]
