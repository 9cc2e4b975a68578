"""The rendered run: complete, deterministic, read back identically, accepted by the real mcli."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import warnings

import pytest
import yaml
from omegaconf import OmegaConf
from runrepo.compose import render
from runrepo.compose.datasets import catalog
from runrepo.compose.engine import compose
from runrepo.compose.layers import TreeSource
from runrepo.compose.resolve import resolve
from runrepo_testing import ROOT, bundled_runs, run_file, write


def expanded(repo, rel):
    source = TreeSource(repo)
    return resolve(compose(source, rel.removeprefix("runs/").removesuffix(".yaml")), catalog(source))


@pytest.mark.parametrize("run", bundled_runs())
def test_render_round_trips_with_types(run, cli):
    code, out, err = cli("render", "--repo", str(ROOT), run)
    assert code == 0, err
    res = expanded(ROOT, run)
    want = render.with_metadata(res)
    assert yaml.safe_load(out) == want
    assert OmegaConf.to_container(OmegaConf.create(out)) == want
    assert list(want)[:5] == ["name", "image", "command", "compute", "scheduling"]
    assert out == render.render(expanded(ROOT, run))  # deterministic


def test_floats_strings_and_times_survive_both_loaders(repo):
    """PyYAML reads `1e-5` as a string and OmegaConf as a float; the render must not depend on it."""
    rel = write(
        repo,
        "runs/experiments/types.yaml",
        run_file("types").replace("parameters:\n", "parameters:\n  trainer:\n    max_time: 00:01:00:00\n", 1)
        + "    optim:\n      lr: 1e-5\n      weight_decay: '1e-2'\n      name: '0x1F'\n"
        + "    tokenizer:\n      model: 'yes'\n      delimiter: '2001-01-01'\n",
    )
    res = expanded(repo, rel)
    optim = res.run["parameters"]["model"]["optim"]
    assert optim["lr"] == 1e-5 and isinstance(optim["lr"], float)
    assert optim["weight_decay"] == "1e-2"
    out = render.render(res)
    for loaded in (yaml.safe_load(out), OmegaConf.to_container(OmegaConf.create(out))):
        assert loaded["parameters"]["model"]["optim"] == optim
        assert loaded["parameters"]["model"]["tokenizer"]["model"] == "yes"
        assert loaded["parameters"]["model"]["tokenizer"]["delimiter"] == "2001-01-01"
        assert loaded["parameters"]["trainer"]["max_time"] == "00:01:00:00"


def test_derived_values_follow_compute_and_cluster(repo):
    res = expanded(repo, "runs/experiments/gpt3-126m-2node.yaml")
    assert res.run["compute"]["gpus"] == 16
    assert res.run["parameters"]["trainer"]["devices"] == 8
    assert res.run["parameters"]["trainer"]["num_nodes"] == 2
    overlay = repo / "runs" / "cluster" / "r7z2.yaml"
    overlay.write_text(overlay.read_text().replace("gpus_per_node: 8", "gpus_per_node: 4"))
    res = resolve(compose(TreeSource(repo), "experiments/gpt3-126m-2node"))
    assert res.run["compute"]["gpus"] == 8
    assert res.run["parameters"]["trainer"]["devices"] == 4
    assert "--jobs 4" in res.run["command"] and "seq 0 $((4 - 1))" in res.run["command"]


def test_interpolations_in_parameters_resolve_against_parameters(repo):
    rel = write(
        repo,
        "runs/experiments/interp.yaml",
        run_file("interp") + "    micro_batch_size: ${multiply:2,${.num_layers}}\n",
    )
    assert expanded(repo, rel).run["parameters"]["model"]["micro_batch_size"] == 24


_MCLI_CHECK = """
import logging, sys, warnings
records = []
class H(logging.Handler):
    def emit(self, r):
        if r.levelno >= logging.WARNING: records.append(r.getMessage())
logging.getLogger().addHandler(H()); logging.getLogger().setLevel(logging.DEBUG)
warnings.simplefilter("error")
from mcli.models.run_config import FinalRunConfig, RunConfig
cfg = RunConfig.from_file(sys.argv[1])
d = FinalRunConfig.finalize_config(cfg).to_create_run_api_input()
assert not records, records
print(sorted(d["runInput"]))
"""


@pytest.mark.parametrize("run", bundled_runs())
def test_real_mcli_accepts_render_without_warning(run, tmp_path, cli):
    code, out, _ = cli("render", "--repo", str(ROOT), run)
    assert code == 0
    f = tmp_path / "run.yaml"
    f.write_text(out)
    proc = subprocess.run([sys.executable, "-c", _MCLI_CHECK, str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "runName" in proc.stdout and "parameters" in proc.stdout


def test_real_mcli_warns_on_a_retired_field(tmp_path):
    """The acceptance check above can fail: mcli warns about `run_name`."""
    f = tmp_path / "old.yaml"
    f.write_text("run_name: x\nimage: i\ncommand: c\ncompute: {gpus: 1}\n")
    proc = subprocess.run([sys.executable, "-c", _MCLI_CHECK, str(f)], capture_output=True, text=True)
    assert proc.returncode != 0


def test_annotate_names_the_layer_of_every_value(cli):
    code, out, _ = cli("render", "--repo", str(ROOT), "--annotate", "runs/experiments/gpt3-126m-2node.yaml")
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("name: gpt3-126m-2node  # runs/experiments/gpt3-126m-2node.yaml:") for line in lines)
    assert any("num_layers: 12  # runs/model/gpt3_126m.yaml:6:5" in line for line in lines)
    assert any("devices: 8  # runs/cluster/r7z2.yaml:" in line and "(derived)" in line for line in lines)
    entries = [line for line in lines if re.match(r"^\s*(- |[A-Za-z_][\w.-]*:)", line)]
    assert len(entries) > 150 and all("  # runs" in line or "  # runrepo" in line for line in entries)
    # comments aside, the annotated text is the same document
    rendered = cli("render", "--repo", str(ROOT), "runs/experiments/gpt3-126m-2node.yaml")[1]
    assert yaml.safe_load(out) == yaml.safe_load(rendered)


def test_hydra_engine_renders_the_same_bytes(cli):
    for run in bundled_runs():
        fast = cli("render", "--repo", str(ROOT), run)[1]
        ref = cli("render", "--repo", str(ROOT), "--engine", "hydra", run)[1]
        assert fast == ref


def test_no_warning_from_logging_or_warnings_in_render(cli, caplog):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.WARNING):
            assert cli("render", "--repo", str(ROOT), bundled_runs()[0])[0] == 0
    assert not caplog.records
