"""`runrepo new --data NAME`: a data run file that check passes as written, with the tokenizer of the
training runs that will read it; and `--data-prefix data:NAME` for such a training run."""

from __future__ import annotations

import pytest

EXPECTED = """\
# @package _global_
# 1 jsonl input(s) tokenised by NeMo's preprocess_data_for_megatron.py into /mnt/data/pile_01/pile_01_text_document.bin/.idx
# (tokenizer of model gpt3_126m on /nemo: v1_13; written by `runrepo new --data`). Training runs read it as `data_prefix: [1.0, data: pile_01]`.
defaults:
  - /nemo: v1_13
  - /cluster: r7z2
  - /node: data_prep
  - _self_
name: data-pile-01
parameters:
  inputs:
  - s3://my-bucket/pile/01.jsonl
  tokenizer:
    library: megatron
    type: GPT2BPETokenizer
    vocab_file: /mnt/data/bpe/gpt2-vocab.json
    merge_file: /mnt/data/bpe/gpt2-merges.txt
  output_prefix: /mnt/data/pile_01/pile_01
  workers: 32
"""


def new(cli, repo, *args):
    return cli("new", *args, "--repo", str(repo))


def test_a_data_run_and_a_training_run_that_reads_it(cli, repo):
    code, out, err = new(cli, repo, "--data", "pile_01", "--input", "s3://my-bucket/pile/01.jsonl",
                         "--tokenizer", "gpt3_126m", "--cluster", "r7z2", "--nemo", "v1_13")
    assert code == 0, err
    assert "wrote runs/data/pile_01.yaml" in out
    assert (repo / "runs" / "data" / "pile_01.yaml").read_text() == EXPECTED
    code, out, err = new(cli, repo, "t-01", "--cluster", "r7z2", "--node", "single_node", "--model", "gpt3_126m",
                         "--data-prefix", "data:pile_01")
    assert code == 0, err
    assert "data_prefix: [1.0, {data: pile_01}]" in (repo / "runs" / "experiments" / "t-01.yaml").read_text()
    code, findings = cli.findings(repo, "runs/data/pile_01.yaml", "runs/experiments/t-01.yaml")
    assert (code, findings) == (0, [])


@pytest.mark.parametrize("tokenizer, want", [
    ("llama2_7b", "library: sentencepiece\n    model: /mnt/data/llama/llama_tokenizer.model\n"),
    ("runs/experiments/gpt3-126m-1node.yaml", "type: GPT2BPETokenizer\n    vocab_file: /mnt/data/bpe/gpt2-vocab.json"),
    ("huggingface:gpt2", "library: huggingface\n    type: gpt2\n"),
])
def test_the_tokenizer_forms(cli, repo, tokenizer, want):
    code, _, err = new(cli, repo, "--data", "d", "--input", "/mnt/data/raw/d.jsonl.gz", "--tokenizer", tokenizer,
                       "--cluster", "r9z1")
    assert code == 0, err
    assert want in (repo / "runs" / "data" / "d.yaml").read_text()


@pytest.mark.parametrize("args, message", [
    (("--input", "s3://b/x.jsonl", "--cluster", "r7z2"), "a data run needs --tokenizer"),
    (("--tokenizer", "gpt3_126m", "--cluster", "r7z2"), "a data run needs --input"),
    (("--input", "s3://b/x.jsonl", "--tokenizer", "gpt3_125m", "--cluster", "r7z2"), "did you mean 'gpt3_126m'?"),
    (("--input", "s3://b/x.jsonl", "--tokenizer", "yttm:x", "--cluster", "r7z2"), "LIBRARY:TYPE with library"),
    (("--input", "s3://b/x.jsonl", "--tokenizer", "gpt3_126m", "--cluster", "r7z2", "--model", "gpt3_126m"),
     "--model belong to a training run"),
])
def test_bad_choices_are_usage_errors(cli, repo, args, message):
    code, _, err = new(cli, repo, "--data", "d", *args)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (repo / "runs" / "data" / "d.yaml").exists()


def test_a_training_run_still_needs_its_choices(cli, repo):
    code, _, err = new(cli, repo, "x", "--cluster", "r7z2")
    assert code == 2 and "a training run needs --node, --model (or --data NAME for a data run)" in err
