"""`runrepo import` keeps what the source trained: render(import(x)) equals, key by key, the config NeMo
built for x: NVIDIA's megatron_gpt_config.yaml of x's release, composed by Hydra with x's command-line
overrides (the oracle here shares no code with the importer). What cannot be reproduced is listed as
`attention`, and check still refuses what NeMo would refuse."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from runrepo.releases import release_of
from runrepo_testing import CORPUS, ROOT

OVERRIDE = re.compile(r"(?:^|\s)((?:model|trainer|exp_manager)\.\S+?=\S+)")
# the only reasons a value may differ from the source, each said in the attention note
EXCUSES = ("derived by the layers", "downloaded")


def nemo_runs() -> list[Path]:
    out = []
    for path in sorted((CORPUS / "mcli").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        image, command = str(doc.get("image", "")), str(doc.get("command", ""))
        if image.startswith("nvcr.io/nvidia/nemo:") or "megatron_gpt_pretraining" in command:
            out.append(path)
    return out


def overrides(command: str) -> list[str]:
    """The Hydra overrides a shell would hand to NeMo (quotes removed, the parallel argument's closing one too)."""
    joined = re.sub(r"\\\s*\n", " ", command)
    out = []
    for token in OVERRIDE.findall(joined):
        token = token[:-1] if token.endswith("'") and token.count("'") % 2 else token
        out += shlex.split(token)
    return out


def oracle(path: Path, tmp: Path) -> dict:
    """NeMo's config for this run: Hydra composes NVIDIA's default file with the run's overrides."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    doc = yaml.safe_load(path.read_text())
    release = release_of(doc["image"])
    defaults = CORPUS / "nemo" / "megatron_gpt_config" / f"v{release}.0.yaml"
    conf = tmp / "conf"
    conf.mkdir()
    shutil.copy(defaults, conf / "megatron_gpt_config.yaml")
    with initialize_config_dir(str(conf), version_base=None):
        cfg = compose("megatron_gpt_config", overrides=overrides(doc["command"]))
    OmegaConf.register_new_resolver("multiply", lambda *xs: __import__("math").prod(xs), replace=True)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)


def flat(tree, prefix=()) -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


def imported(cli, repo: Path, legacy: Path) -> tuple[Path, list[str], dict]:
    """Import, choose a cluster (the one decision the file leaves open), render: (run file, report, parameters)."""
    code, _, err = cli("import", str(legacy), "--repo", str(repo))
    assert code == 0, err
    report = err.splitlines()
    run = Path(report[-1].split(":")[0].removeprefix("wrote "))
    text = re.sub(r"/cluster: \S+.*", "/cluster: r7z2", run.read_text())
    run.write_text(text)
    code, out, err = cli("render", str(run))
    assert code == 0, err
    return run, report, yaml.safe_load(out)["parameters"]


def attention(report: list[str]) -> list[str]:
    return [line for line in report if ": attention: " in line]


def test_the_corpus_has_the_seeds():
    names = [p.name for p in nemo_runs()]
    assert "single_node.yaml" in names and "multi_node.yaml" in names


@pytest.mark.parametrize("legacy", nemo_runs(), ids=lambda p: p.name)
def test_render_of_import_is_what_the_source_ran(cli, repo, tmp_path, legacy):
    expected = flat(oracle(legacy, tmp_path))
    _, report, params = imported(cli, repo, legacy)
    got = flat(params)
    assert len(expected) > 100  # a whole NeMo config, not a fragment
    notes = attention(report)
    differ = sorted(k for k in set(expected) | set(got) if expected.get(k, "absent") != got.get(k, "absent")
                    and not (k == ("trainer", "max_time") and got.get(k) is None and k not in expected))
    for key in differ:
        dotted = ".".join(key)
        said = [n for n in notes if re.search(rf"(parameters\.|`){re.escape(dotted)}\b", n)]
        assert said, f"{dotted}: {expected.get(key, 'absent')!r} in the source, {got.get(key, 'absent')!r} after " \
                     "import, and the report does not say so"
        assert any(e in n for n in said for e in EXCUSES), f"{dotted} differs for no reason the importer knows: {said}"


def test_values_a_layer_would_change_are_written_back(cli, repo):
    legacy = CORPUS / "mcli" / "seed" / "single_node.yaml"
    run, report, params = imported(cli, repo, legacy)
    data = yaml.safe_load(run.read_text())["parameters"]
    assert data["trainer"] == {"precision": 16, "max_time": None}  # base.yaml: bf16, 00:23:30:00
    assert data["model"]["megatron_amp_O2"] is False
    assert params["model"]["encoder_seq_length"] == 512 and params["model"]["hidden_dropout"] == 0.1
    assert params["model"]["optim"]["lr"] == 2e-4 and params["model"]["global_batch_size"] == 8
    kept = [line for line in report if ": kept: " in line]
    assert any("parameters.trainer.precision: 16 (NeMo 1.14's default)" in x and "runs/base.yaml would set bf16" in x
               for x in kept)
    assert "/model:" not in run.read_text()  # gpt3_126m would change encoder_seq_length 512 -> 2048, ...
    (model,) = [x for x in report if ": model: " in x]
    assert ": kept: " in model and "model.encoder_seq_length 512 -> 2048" in model


@pytest.mark.parametrize("seed", ["single_node.yaml", "multi_node.yaml"])
def test_check_still_refuses_the_seeds_batch(cli, repo, seed):
    """global_batch_size 8 with micro batch 4 does not divide over 8 (or 16) GPUs: said, not hidden."""
    run, report, _ = imported(cli, repo, CORPUS / "mcli" / "seed" / seed)
    assert any("check refuses the source's own values: error[batch-divisible]" in x for x in attention(report))
    run.write_text(run.read_text().replace("/your_dataset_path_here/", "/mnt/data/pile/pile_00_text_document"))
    code, findings = cli.findings(repo, str(run))
    errors = [f for f in findings if f["severity"] == "error"]
    assert code == 1 and [f["rule"] for f in errors] == ["batch-divisible"]
    assert errors[0]["file"] == "runs/nemo/v1_14.yaml" and "global_batch_size=8" in errors[0]["message"]


def _preset_legacy(tmp_path: Path, name: str, change: dict | None = None) -> Path:
    """A legacy NeMo 2.0 run whose overrides set exactly what gpt3_126m sets (with `change` applied)."""
    layer = yaml.safe_load((ROOT / "runs" / "model" / "gpt3_126m.yaml").read_text())["parameters"]
    sets = {**{".".join(k): v for k, v in flat(layer).items()}, **(change or {})}
    args = " ".join(f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                    for k, v in sets.items())
    legacy = tmp_path / "preset.yaml"
    legacy.write_text(
        f"name: {name}\nimage: nvcr.io/nvidia/nemo:24.07\ncompute:\n  cluster: r7z2\n  gpus: 8\ncommand: |\n"
        "  python3 examples/nlp/language_modeling/megatron_gpt_pretraining.py "
        f"--config-name=megatron_gpt_config trainer.devices=8 {args} 'model.data.data_prefix=[1.0,/mnt/data/x]'\n"
    )
    return legacy


def test_a_model_layer_only_when_every_key_it_sets_is_the_sources(cli, repo, tmp_path):
    run, report, params = imported(cli, repo, _preset_legacy(tmp_path, "same"))
    assert "  - /model: gpt3_126m" in run.read_text()
    assert any(": mapped: model: preset gpt3_126m" in x for x in report)
    assert params["model"]["hidden_dropout"] == 0.2 and params["model"]["encoder_seq_length"] == 2048

    run, report, params = imported(cli, repo, _preset_legacy(tmp_path, "one-differs", {"model.hidden_dropout": 0.1}))
    assert "/model:" not in run.read_text()
    assert any("would change model.hidden_dropout 0.1 -> 0.2" in x for x in report)
    assert params["model"]["hidden_dropout"] == 0.1 and params["model"]["encoder_seq_length"] == 2048


def test_nemo_world_defaults_are_every_releases():
    """The importer assumes trainer.devices 1 and num_nodes 1 where a source did not set them (runs/nemo/
    nulls them to derive them): that is what every release's own file says."""
    from runrepo.author.fidelity import NEMO_WORLD

    files = sorted((CORPUS / "nemo" / "megatron_gpt_config").glob("v*.yaml"))
    assert len(files) == 18
    for f in files:
        trainer = yaml.safe_load(f.read_text())["trainer"]
        assert {k: trainer[k[1]] for k in NEMO_WORLD} == NEMO_WORLD, f.name
