"""The secret rules: each format is caught, its value is never echoed, look-alikes pass."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from corpus_util import ROOT, materialize
from corpus_util import cli as run_cli
from hardening_cases import CASES, FAKE, RANDOM, RUN, WANDB_HEX
from runrepo.rules.secrets import (
    high_entropy,
    judge,
    redact,
    secret_literal,
    secret_name,
    secret_named,
    secret_values,
)

CORPUS = ROOT / "tests" / "data" / "corpus"


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
    files = sorted(Path(CORPUS).rglob("*.yaml"))
    assert files
    for f in files:
        data = yaml.safe_load(f.read_text())
        if isinstance(data, dict):
            assert hits(data) == [], f


def test_bounded_on_long_hostile_strings():
    """Every pattern is bounded: long runs of prefix characters do not take quadratic time."""
    import time

    chunks = (
        "sk-",
        "--a",
        "a" * 50 + "://",
        "nvapi-",
        "-----BEGIN A ",
        "x=",
        "hf_",
        "eyJ",
        "eyJa.",
        "//a/:_authToken=",
    )
    chunks += ("xoxb-1-", "AccountKey=", "QUtJQV", "wandb login ", "aws configure set a ", "Authorization: ", "?a=")
    for chunk in chunks:
        text = chunk * (200_000 // len(chunk))
        t = time.perf_counter()
        hits({"command": text, "env_variables": {"API_TOKEN": text[:4096]}})
        took = time.perf_counter() - t
        assert took < 2.0, (chunk, took)


# --- detect-secrets' plugins and our own detectors, each on its own -----------------------------
MORE = {  # made-up values in formats the first list lacks (concatenated so scanners skip this file)
    "slack-webhook": "https://hooks.slack.com/services/" + "T0A1B2C3D/B0E4F5G6H7/x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1",
    "jwt": "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    "azure-account-key": "AccountKey=" + "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1Lc5Zs0Ga" * 2 + "x8Kd2mQp7Rt4Vw9Yb3Nf6H==",
    "azure-sas": "https://a.blob.core.windows.net/c/b?sv=2022-11-02&" + "sig=Qm7Zt2Lx9Vb4Nc8Rp1Wd6Yh3Kf5Js0Ga%2B",
    "stripe": "sk_live_" + "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1",
    "gitlab": "glpat-" + "x8Kd2mQp7Rt4Vw9Yb3Nf",
    "google": "AIza" + "Sy" + "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1Lc5Zs0Ga8",
    "aws-pair-base64": base64.b64encode(
        ("AKIA" + "Q7ZL3XMRD4TPW2NB:wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1").encode()
    ).decode(),
}


@pytest.mark.parametrize("kind", sorted(MORE))
def test_more_formats_are_caught_and_never_echoed(kind):
    value = MORE[kind]
    found = hits({"metadata": {"note": value}, "command": f"curl -s '{value}' > /dev/null && python train.py"})
    assert len(found) == 2, found
    for h in found:
        assert "mcli create secret" in h.message and value not in h.message


@pytest.mark.parametrize(
    "name, value, rule, what",
    [
        ("command", f"wandb login {WANDB_HEX}", "secret-literal", "Weights & Biases"),
        ("command", f"wandb login --relogin --host https://api.wandb.ai {WANDB_HEX}", "secret-literal", "Weights"),
        (
            "command",
            "aws configure set aws_secret_access_key " + "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1",
            "secret-literal",
            "AWS",
        ),
        ("DB_PASS", RANDOM[:20], "secret-named", "random"),
        ("S3_CREDS", RANDOM[:24], "secret-named", "random"),
        ("db_passwd", RANDOM[:20], "secret-named", "random"),  # detect-secrets' keyword list
        ("url", "https://x.example.com/a?access_token=" + RANDOM, "secret-named", "random"),
    ],
)
def test_secrets_inside_commands_urls_and_names(name, value, rule, what):
    v = judge(name, value)
    assert v is not None and v.rule == rule and what in v.what, v


def test_messages_say_how_to_store_each_kind():
    assert judge("x", MORE["slack-webhook"]).store() == "mcli create secret env SLACK_WEBHOOK_URL=<value>"
    assert (
        judge("SLACK_WEBHOOK_URL", MORE["slack-webhook"]).store() == "mcli create secret env SLACK_WEBHOOK_URL=<value>"
    )
    assert judge("x", FAKE["huggingface"]).store().startswith("mcli create secret hf")
    assert judge("x", FAKE["aws-key-id"]).store().startswith("mcli create secret s3")
    assert judge("command", f"wandb login {WANDB_HEX}").store() == "mcli create secret env WANDB_API_KEY=<value>"


# --- secret_values and redact: what outputs use to never print a flagged value ----------------
RUN_WITH_SECRETS = {
    "name": "r",
    "command": f"export HF_TOKEN={RANDOM}; wandb login {WANDB_HEX}\npython train.py",
    "env_variables": {"DB_PASS": RANDOM[:20], "PLAIN": "1", FAKE["github-classic"]: "x"},
    "integrations": [{"integration_type": "git_repo", "git_repo": FAKE["url-password"]}],
    "parameters": {"model": {"num_layers": 12, "tokenizer": {"type": "GPT2BPETokenizer"}}},
    "metadata": {"notes": [MORE["slack-webhook"], "plain text"]},
}


def test_secret_values_are_what_the_rules_report():
    values = secret_values(RUN_WITH_SECRETS, {"launch": "python3 x.py"})
    assert values == {
        RUN_WITH_SECRETS["command"]: "secret-literal",
        RANDOM[:20]: "secret-named",
        FAKE["github-classic"]: "secret-literal",
        FAKE["url-password"]: "secret-literal",
        MORE["slack-webhook"]: "secret-literal",
    }
    assert len(hits(RUN_WITH_SECRETS)) == len(values)
    assert secret_values({"a": RANDOM}) == {} and secret_values("x") == {}


def test_redact_replaces_whole_flagged_strings_and_nothing_else():
    before = copy.deepcopy(RUN_WITH_SECRETS)
    out = redact(RUN_WITH_SECRETS)
    assert RUN_WITH_SECRETS == before  # pure
    assert out["command"] == "«redacted: secret-literal»"
    assert out["env_variables"] == {
        "DB_PASS": "«redacted: secret-named»",
        "PLAIN": "1",
        "«redacted: secret-literal»": "x",
    }
    assert out["integrations"] == [{"integration_type": "git_repo", "git_repo": "«redacted: secret-literal»"}]
    assert out["parameters"] == RUN_WITH_SECRETS["parameters"] and out["name"] == "r"
    assert out["metadata"] == {"notes": ["«redacted: secret-literal»", "plain text"]}
    dumped = json.dumps(out)
    for secret in (RANDOM, WANDB_HEX, FAKE["github-classic"], "hunter2x", "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1"):
        assert secret not in dumped and secret[:12] not in dumped
    assert secret_values(out) == {}
    # one string, judged under the key it sits under
    assert redact(RANDOM[:20], "DB_PASS") == "«redacted: secret-named»" and redact(RANDOM[:20], "model") == RANDOM[:20]
    assert redact({FAKE["aws-key-id"]: 1, FAKE["huggingface"]: 2}) == {
        "«redacted: secret-literal»": 1,
        "«redacted: secret-literal» #2": 2,
    }
    assert redact([1, 2.5, None, True]) == [1, 2.5, None, True]


def test_every_secret_case_of_the_corpus_redacts_clean(tmp_path):
    """Expanded as check expands it, each secret case's run has a flagged value, and none after redact."""
    from runrepo.check import expand
    from runrepo.compose.layers import TreeSource

    cases = [c for c in CASES if c.rule in ("secret-literal", "secret-named")]
    assert len(cases) >= 50
    for case in cases:
        repo = materialize(case, tmp_path / case.id)
        resolved, findings = expand(TreeSource(repo), "experiments/bad")
        assert resolved is not None and not findings, case.id
        flagged = secret_values(resolved.run, resolved.tool)
        assert flagged, case.id
        clean = json.dumps([redact(resolved.run), redact(resolved.tool)], ensure_ascii=False)
        assert not secret_values(json.loads(clean)), case.id
        for value in flagged:
            assert value not in clean, case.id


def test_no_false_positive_on_any_bundled_layer():
    """Every layer under runs/, used by a bundled run or not, and the policy file."""
    from runrepo.compose.gate import parse_yaml

    files = sorted((ROOT / "runs").rglob("*.yaml"))
    assert len(files) > 15
    for f in files:
        data, _ = parse_yaml(f.read_text(), str(f))
        assert secret_values(data) == {}, f


def test_check_never_prints_a_flagged_value_in_any_format(tmp_path):
    """Every secret case, every check format: the finding is there, the value (or a piece of it) is not."""
    from runrepo.check import expand
    from runrepo.compose.layers import TreeSource

    for case in [c for c in CASES if c.rule in ("secret-literal", "secret-named")]:
        repo = materialize(case, tmp_path / case.id)
        resolved, _ = expand(TreeSource(repo), "experiments/bad")
        pieces = {p for v in secret_values(resolved.run, resolved.tool) for p in v.split() if len(p) >= 16}
        pieces = {
            p for p in pieces if not p.startswith(("${", "/", "~/")) and p not in str(resolved.run.get("parameters"))
        }
        for fmt in ("text", "json", "github"):
            code, out, err = run_cli("check", "--repo", str(repo), "--format", fmt, str(repo / RUN))
            assert code == 1 and case.rule in out + err, (case.id, fmt)
            leaked = [p for p in pieces if p in out + err]
            assert not leaked, (case.id, fmt, leaked)
