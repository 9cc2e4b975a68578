"""One failing and one passing case per foundation rule; the failing case asserts file and line."""

from __future__ import annotations

import pytest
from runrepo_testing import line_of, run_file, write

RUN = "runs/experiments/case.yaml"

# rule id -> (text appended to a valid run file, needle naming the blamed line in the run file)
CASES = {
    "batch-divisible": ("    global_batch_size: 100\n", "global_batch_size: 100"),
    "heads-divisible-tp": (
        "    num_attention_heads: 10\n    tensor_model_parallel_size: 4\n",
        "num_attention_heads: 10",
    ),
    "layers-divisible-pp": ("    pipeline_model_parallel_size: 8\n    num_layers: 12\n", "num_layers: 12"),
    "parallel-world": (
        "    tensor_model_parallel_size: 3\n    num_attention_heads: 12\n",
        "tensor_model_parallel_size: 3",
    ),
    "placeholder": ("      data_prefix: [1.0, /your_dataset_path_here/]\n", "data_prefix: [1.0, /your"),
    "image-pinned": ("image: nvcr.io/nvidia/nemo:latest\n", "image:"),
    "image-release": ("image: nvcr.io/nvidia/nemo:24.05\n", "image:"),
    "run-name": ("name: GPT_Run\n", "name: GPT_Run"),
    "world-size": ("  trainer:\n    devices: 4\n", "devices: 4"),
    "launch-profile": ("compute:\n  nodes: 2\n", "nodes: 2"),
}


def case_file(rule: str) -> str:
    extra, _ = CASES[rule]
    text = run_file("case")
    if extra.startswith("    ") and "data_prefix" not in extra:
        return text.replace("  model:\n", "  model:\n" + extra, 1)
    if "data_prefix" in extra:
        return text.replace("      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]\n", extra)
    if extra.startswith("  trainer"):
        return text.replace("parameters:\n", "parameters:\n" + extra, 1)
    if extra.startswith("name:"):
        return text.replace("name: case\n", extra)
    if extra.startswith("compute:"):
        return text.replace("compute:\n  nodes: 1\n", extra)
    return text + extra


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fails_on_the_line_that_set_the_value(rule, repo, cli):
    write(repo, RUN, case_file(rule))
    code, findings = cli.findings(repo, RUN)
    hits = [f for f in findings if f["rule"] == rule]
    assert code == 1 and hits, findings
    assert hits[0]["file"] == RUN
    assert hits[0]["line"] == line_of(repo, RUN, CASES[rule][1])


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_on_a_valid_run(rule, repo, cli):
    write(repo, RUN, run_file("case"))
    code, findings = cli.findings(repo, RUN)
    assert not [f for f in findings if f["rule"] == rule]


def test_shared_layer_mistake_is_reported_in_the_overlay(repo, cli):
    """A bad overlay value points at the overlay's line, and checking the overlay checks its runs."""
    overlay = "runs/model/gpt3_126m.yaml"
    path = repo / overlay
    path.write_text(path.read_text().replace("global_batch_size: 256", "global_batch_size: 260"))
    code, findings = cli.findings(repo, overlay)
    hits = [f for f in findings if f["rule"] == "batch-divisible"]
    assert code == 1 and len(hits) == 2  # three runs depend on it, with two data-parallel sizes
    assert {r for h in hits for r in h["run"].split(", ")} == {
        "runs/experiments/gpt3-126m-1node.yaml",
        "runs/experiments/gpt3-126m-2node.yaml",
        "runs/experiments/gpt3-126m-wiki.yaml",
    }
    for h in hits:
        assert h["file"] == overlay and h["line"] == line_of(repo, overlay, "global_batch_size: 260")
        assert h["run"] in h["message"]  # the message names the run it broke


def test_cluster_change_checks_every_dependent_run(repo, cli):
    code, out, _ = cli("check", "--repo", str(repo), "runs/cluster/r7z2.yaml")
    assert "4 run(s) checked" in out  # three training runs and the data run
    code, out, _ = cli("check", "--repo", str(repo), "runs/cluster/r1z1.yaml")
    assert "0 run(s) checked" in out and code == 0


def test_formats_and_exit_codes(repo, cli):
    write(repo, RUN, case_file("run-name"))
    code, out, _ = cli("check", "--repo", str(repo), RUN)
    assert code == 1 and f"{RUN}:{line_of(repo, RUN, 'name: GPT_Run')}:1: error[run-name]" in out
    code, out, _ = cli("check", "--repo", str(repo), "--format", "github", RUN)
    assert out.startswith(f"::error file={RUN},line=") and "title=run-name::" in out
    assert cli("check", "--repo", str(repo))[0] == 2  # no paths, no --all: usage
    assert cli("check", "--repo", str(repo), "README.md")[0] == 0  # not a layer: nothing to check
    assert cli("check", "--repo", str(repo), "elsewhere/x.yaml")[0] == 2


def test_warning_fails_only_with_strict(repo, cli):
    write(repo, RUN, run_file("case", node="multi_node", nodes=1))
    code, findings = cli.findings(repo, RUN)
    assert [f["severity"] for f in findings if f["rule"] == "launch-profile"] == ["warning"]
    assert code == 0
    assert cli("check", "--repo", str(repo), "--strict", RUN)[0] == 1


def test_rules_command_lists_and_explains(cli):
    code, out, _ = cli("rules")
    assert code == 0 and "batch-divisible" in out and "world-size" in out
    code, out, _ = cli("rules", "batch-divisible")
    assert code == 0 and "Fails:" in out and "Fixed:" in out
    code, _, err = cli("rules", "batch-divisble")
    assert code == 2 and "batch-divisible" in err


def test_misspelled_nemo_key_is_reported_on_its_line_with_the_spelling(repo, cli):
    """NeMo ignores `micro_batch_sizee` silently and trains with the default; here it is an error."""
    text = run_file("case").replace("  model:\n", "  model:\n    micro_batch_sizee: 2\n", 1)
    write(repo, RUN, text)
    code, out, _ = cli("check", "--repo", str(repo), RUN)
    line = line_of(repo, RUN, "micro_batch_sizee")
    assert code == 1
    assert f"{RUN}:{line}:5: error[nemo-unknown-key]" in out
    assert "did you mean `micro_batch_size`?" in out
