"""Every corpus case: exactly one clear finding line with the expected rule, file and line; exit 1;
never a traceback. Valid look-alikes: nothing at all, exit 0."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import pytest
from corpus_util import ROOT, expected_line, materialize, parse
from corpus_util import cli as run_cli
from hardening_cases import CASES, RUN

BY_ID = {c.id: c for c in CASES}


def test_corpus_size_and_categories():
    bad = [c for c in CASES if c.rule]
    assert len(bad) >= 150
    cats = collections.Counter(c.category for c in bad)
    for needed in (
        "yaml-syntax",
        "tabs",
        "duplicate-keys",
        "wrong-types",
        "unknown-keys",
        "empty",
        "list-or-scalar",
        "encoding",
        "size",
        "depth",
        "alias-bomb",
        "merge-keys",
        "hydra-defaults",
        "symlinks",
        "interpolation",
        "run-names",
        "metadata",
        "parameters",
        "package-header",
        "self-missing",
        "secrets",
        "numbers",
        "policy",
        "policy-file",
    ):
        assert cats[needed], needed


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case, tmp_path):
    repo = materialize(case, tmp_path)
    code, out, err = run_cli("check", "--repo", str(repo), str(repo / case.run))
    text = out + err
    assert "Traceback" not in text
    findings, other = parse(text)
    assert not other, f"lines that are not findings: {other}"
    if case.rule is None:
        assert (code, findings) == (0, []), text
        return
    assert code == 1, text
    errors = [f for f in findings if f["sev"] == "error" and f["rule"] not in case.also]
    assert len(errors) == 1, text
    got = errors[0]
    want = (case.rule, case.file, expected_line(case, repo))
    assert (got["rule"], got["file"], got["line"]) == want, text
    assert not [f for f in findings if f["rule"] == case.rule and f is not got], "reported twice: " + text
    if case.extra.get("did_you_mean"):
        assert "did you mean" in got["msg"], got["msg"]


SUBPROCESS = [
    "bomb-billion-laughs-9",
    "size-20mb",
    "symlink-cluster-to-etc-passwd",
    "syntax-unclosed-flow-list",
    "encoding-latin1-value",
    "policy-file-syntax",
    "secret-aws-key-id-in-env",
    "interp-oc-env-command",
    "defaults-escape-abs-passwd",
    "parameters-list",
]


@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_case_subprocess(case_id, tmp_path):
    """The real console entry point: one finding line on the terminal, no traceback, exit 1."""
    case = BY_ID[case_id]
    repo = materialize(case, tmp_path)
    for fmt in ("text", "json", "github"):
        p = subprocess.run(
            [sys.executable, "-m", "runrepo.cli", "check", "--repo", str(repo), "--format", fmt, str(repo / RUN)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert p.returncode == 1, p.stderr
        assert "Traceback" not in p.stderr + p.stdout
        if fmt == "text":
            findings, other = parse(p.stdout + p.stderr)
            assert [f["rule"] for f in findings] == [case.rule] and not other, p.stdout + p.stderr
        elif fmt == "json" and p.stdout.strip():
            assert [f["rule"] for f in json.loads(p.stdout)["findings"]] == [case.rule]


def test_render_refuses_like_check(tmp_path):
    """render prints the same one line for a gate refusal, on stderr, and exits 1."""
    for case_id in ("bomb-billion-laughs-9", "symlink-run-file-inside", "interp-oc-env-command", "parameters-null"):
        case = BY_ID[case_id]
        repo = materialize(case, tmp_path / case_id)
        code, out, err = run_cli("render", "--repo", str(repo), str(repo / RUN))
        findings, other = parse(err)
        assert code == 1 and out == "" and not other
        assert [(f["rule"], f["file"]) for f in findings] == [(case.rule, case.file)]


def test_bundled_runs_stay_clean():
    code, out, err = run_cli("check", "--repo", str(ROOT), "--all")
    findings, _ = parse(out + err)
    mine = ("policy-", "secret-", "metadata-size", "section-type")
    assert not [f for f in findings if f["rule"].startswith(mine)], out + err


def test_hydra_engine_is_gated_too(tmp_path):
    import resource

    def two_gb():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    case = BY_ID["bomb-billion-laughs-9"]
    repo = materialize(case, tmp_path)
    argv = [sys.executable, "-m", "runrepo.cli", "render", "--engine", "hydra", "--repo", str(repo), str(repo / RUN)]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=3, preexec_fn=two_gb)
    except subprocess.TimeoutExpired:
        pytest.fail("an alias bomb under --engine hydra is not refused within 3 s")
    assert p.returncode == 1 and "error[yaml-alias]" in p.stderr, p.stderr
