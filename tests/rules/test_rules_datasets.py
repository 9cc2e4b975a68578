"""What training runs read, judged in check: data runs by name or by path, runs/datasets.yaml (and the
`datasets-file` finding when it cannot be read), unknown paths (warning, or error under policy
require_known_datasets), tokenizers that differ from their data's, and data runs that claim one prefix."""

from __future__ import annotations

import pytest
from rulekit import hits
from runrepo.check import expand
from runrepo.compose.layers import TreeSource
from runrepo.errors import RunrepoError

READER = "runs/experiments/gpt3-126m-wiki.yaml"
DATA = "runs/data/wiki_gpt2.yaml"


def _training(repo, prefix_line: str, extra: str = "") -> str:
    return repo.write("runs/experiments/t.yaml", (
        "# @package _global_\ndefaults:\n  - /nemo: v1_13\n  - /base\n  - /cluster: r7z2\n  - /node: single_node\n"
        "  - /model: gpt3_126m\n  - _self_\nname: t-run\nparameters:\n  model:\n" + extra
        + f"    data:\n      data_prefix: {prefix_line}\n"))


def test_a_broken_datasets_file_is_one_finding_on_its_line(repo):
    text = (repo.root / "runs" / "datasets.yaml").read_text().replace("    note:", "    notes:")
    (repo.root / "runs" / "datasets.yaml").write_text(text)
    code, findings = repo.cli_check(READER.replace("gpt3-126m-wiki", "gpt3-126m-1node"))
    (hit,) = [f for f in findings if f["rule"] == "datasets-file"]
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("    notes:"))
    assert code == 1 and hit["file"] == "runs/datasets.yaml" and hit["line"] == line
    assert "unknown key `notes`; did you mean `note`?" in hit["message"]
    # runs that name their data read no path: the file's problem is not theirs
    assert hits(repo.check(READER), "datasets-file") == []


def test_an_unknown_path_is_a_warning_or_under_policy_an_error(repo):
    rel = _training(repo, "[1.0, /mnt/data/pile/pile_09_text_document]")
    (hit,) = hits(repo.check(rel), "dataset-unknown")
    assert hit.severity == "warning" and hit.line == 13 and hit.file == rel
    repo.policy(require_known_datasets="true")
    (hit,) = hits(repo.check(rel), "dataset-unknown")
    assert hit.severity == "error" and "runs/policy.yaml:" in hit.message
    repo.policy(require_known_datasets="maybe")
    with pytest.raises(RunrepoError, match="require_known_datasets` must be true or false") as e:
        repo.check(rel)
    assert e.value.rule == "policy-file"


def test_a_path_a_data_run_writes_is_a_dependency_like_its_name(repo):
    rel = _training(repo, "[0.5, /mnt/data/wiki/wiki_gpt2_text_document, 0.5, data: wiki_gpt2]")
    resolved, _ = expand(TreeSource(repo.root), "experiments/t")
    assert resolved.run["parameters"]["model"]["data"]["data_prefix"] == [
        0.5, "/mnt/data/wiki/wiki_gpt2_text_document", 0.5, "/mnt/data/wiki/wiki_gpt2_text_document"]
    assert [(u.kind, u.name, u.named) for u in resolved.links.uses] == [("data", "wiki_gpt2", False),
                                                                        ("data", "wiki_gpt2", True)]
    assert [n.name for n in resolved.links.needs] == ["wiki_gpt2"] and repo.check(rel) == []
    assert DATA in resolved.files and "runs/datasets.yaml" in resolved.files


def test_a_declared_tokenizer_is_checked_on_the_line_the_run_sets(repo):
    path = repo.root / "runs" / "datasets.yaml"
    path.write_text(path.read_text().replace(
        "    note:", "    tokenizer: {library: sentencepiece, model: /mnt/data/spm.model}\n    note:"))
    rel = _training(repo, "[1.0, /mnt/data/pile/pile_00_text_document]",
                    "    tokenizer:\n      library: megatron\n")
    (hit,) = hits(repo.check(rel), "dataset-tokenizer")
    assert hit.file == rel and hit.line == 13  # the library line the run file sets, not /base's or /nemo's
    assert "runs/datasets.yaml:9" in hit.message and "sentencepiece (model=/mnt/data/spm.model)" in hit.message


def test_a_changed_data_run_checks_the_runs_that_read_it(repo):
    path = repo.root / DATA
    path.write_text(path.read_text().replace("type: GPT2BPETokenizer", "type: GPT2BPETokenizerCase"))
    findings = repo.check(DATA)
    (hit,) = hits(findings, "dataset-tokenizer")
    assert hit.file == READER and "GPT2BPETokenizerCase" in hit.message and "differing: type" in hit.message


def test_one_writer_per_prefix(repo):
    text = (repo.root / DATA).read_text()
    repo.write("runs/data/wiki_copy.yaml", text.replace("name: data-wiki-gpt2", "name: data-wiki-copy"))
    found = hits(repo.check(DATA), "data-output")  # a changed data run checks the other data runs too
    assert {(h.file, h.message.split(" writes")[0]) for h in found} == {
        (DATA, "data run wiki_copy (runs/data/wiki_copy.yaml)"),
        ("runs/data/wiki_copy.yaml", f"data run wiki_gpt2 ({DATA})")}
    path = repo.root / "runs" / "datasets.yaml"
    path.write_text(path.read_text() + "  - prefix: /mnt/data/wiki/wiki_gpt2_text_document\n")
    found = hits(repo.check(DATA), "data-output")
    assert any(h.file == DATA and "also declared external in runs/datasets.yaml:11" in h.message for h in found)


def test_a_named_data_run_that_does_not_compose(repo):
    (repo.root / DATA).write_text((repo.root / DATA).read_text().replace("/cluster: r7z2", "/cluster: r7z3"))
    (hit,) = repo.check(READER)
    assert hit.rule == "dataset-ref" and hit.file == READER and hit.line == 15
    assert "data run 'wiki_gpt2' does not compose:" in hit.message and "did you mean `r7z2`?" in hit.message
