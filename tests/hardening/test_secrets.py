"""The secret rules: each format is caught, its value is never echoed, look-alikes pass."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from corpus_util import ROOT, materialize
from corpus_util import cli as run_cli
from hardening_cases import CASES, FAKE, RANDOM, RUN, WANDB_HEX
from runrepo.rules.secrets import high_entropy, judge, secret_literal, secret_name, secret_named

CORPUS = ROOT.parent / "shared" / "corpus"


def hits(run: dict, tool: dict | None = None) -> list:
    ctx = SimpleNamespace(run=run, tool=tool or {})
    return list(secret_literal(ctx)) + list(secret_named(ctx))


@pytest.mark.parametrize("kind", sorted(FAKE))
def test_each_format_is_caught_and_never_echoed(kind):
    value = FAKE[kind]
    found = hits({"env_variables": {"SOME_VAR": value}, "command": f"echo {value}"})
    assert len(found) == 2
    for h in found:
        assert "mcli create secret" in h.message
        assert value not in h.message and value.split("\n")[0][-12:] not in h.message


def test_name_based_values():
    assert judge("WANDB_API_KEY", WANDB_HEX).what.startswith("a Weights & Biases")
    assert judge("command", f"WANDB_API_KEY={WANDB_HEX} python x.py").name == "WANDB_API_KEY"
    assert judge("MOSAICML_API_KEY", "Zm9vYmFyYmF6cXV4").what == "a MosaicML API key"
    assert judge("git_commit", WANDB_HEX) is None  # 40 hex elsewhere is a commit
    assert judge("MOSAICML_API_KEY", "$MOSAICML_API_KEY") is None  # a reference, not a value


@pytest.mark.parametrize(
    "name, secret",
    [
        ("WANDB_API_KEY", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("hfToken", True),
        ("db_password", True),
        ("tokenizer", False),
        ("num_tokens", False),
        ("SECRET_NAME", False),
        ("api_key_file", False),
        ("apply_query_key_layer_scaling", True),
        ("dataset_sha256", False),
    ],
)
def test_secret_names(name, secret):
    assert secret_name(name) is secret


@pytest.mark.parametrize(
    "value, expected",
    [
        (RANDOM, True),
        ("wJalrXUt/" + RANDOM, True),
        ("correcthorse", False),
        ("/mnt/data/pile/pile_00_text_document", False),
        ("sha256:" + "ab" * 32, False),
        ("${oc.env:X}", False),
        ("s3://bucket/key/" + RANDOM, False),
        ("a b c d e f g h i j k", False),
    ],
)
def test_high_entropy(value, expected):
    assert high_entropy(value) is expected


def test_no_false_positive_on_bundled_runs_and_valid_cases(tmp_path):
    code, out, err = run_cli("check", "--repo", str(ROOT), "--all", "--format", "json")
    assert "secret-" not in out + err
    for case in [c for c in CASES if c.rule is None]:
        repo = materialize(case, tmp_path / case.id)
        code, out, err = run_cli("check", "--repo", str(repo), str(repo / RUN))
        assert "secret-" not in out + err, case.id


def test_no_false_positive_on_public_configs():
    """mcli runs of llm-foundry, NeMo's and the launcher's configs: real files this tool did not write."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent next to this checkout")
    files = sorted(Path(CORPUS).rglob("*.yaml"))
    assert files
    for f in files:
        data = yaml.safe_load(f.read_text())
        if isinstance(data, dict):
            assert hits(data) == [], f


def test_bounded_on_long_hostile_strings():
    """Every pattern is bounded: long runs of prefix characters do not take quadratic time."""
    import time

    for chunk in ("sk-", "--a", "a" * 50 + "://", "nvapi-", "-----BEGIN A ", "x=", "hf_"):
        text = chunk * (200_000 // len(chunk))
        t = time.perf_counter()
        hits({"command": text, "env_variables": {"API_TOKEN": text[:4096]}})
        assert time.perf_counter() - t < 2.0, chunk
