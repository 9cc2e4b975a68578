"""Redaction: a credential written into a run file is never printed back, by any command in any format.

The run file holds two canaries: a random key under AWS_SECRET_ACCESS_KEY and a Hugging Face token
where NeMo expects an integer, so the schema error would quote it. Every
output is read: check (text, json, github), render (plain, annotated), plan (markdown, text, json),
submit (dry run and the job summary). Each must hold neither value, and the ones that show the run show
«redacted: <rule-id>» in its place.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import subprocess

import pytest
from runrepo_testing import GIT_ENV, ROOT, Cli

RUN = "runs/experiments/leaky.yaml"


@pytest.fixture
def leaky(tmp_path):
    rng = secrets.SystemRandom()
    aws = "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    hf = "hf_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "runs", repo / "runs")
    env = {**os.environ, **GIT_ENV}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "runs")
    git("checkout", "-qb", "pr")
    text = (repo / "runs/experiments/gpt3-126m-1node.yaml").read_text().replace("gpt3-126m-1node", "leaky")
    text = text.replace("parameters:\n  model:\n", f"env_variables:\n  AWS_SECRET_ACCESS_KEY: '{aws}'\n"
                                                  f"parameters:\n  model:\n    micro_batch_size: {hf}\n")
    (repo / RUN).write_text(text)
    git("add", "-A")
    git("commit", "-qm", "a run with credentials in it")
    return repo, (aws, hf)


def test_no_output_prints_a_flagged_value(leaky, capsys, tmp_path, monkeypatch):
    repo, canaries = leaky
    cli = Cli(capsys)
    outputs = {}
    for fmt in ("text", "json", "github"):
        code, out, err = cli("check", "--repo", str(repo), "--format", fmt, str(repo / RUN))
        assert code == 1 and "secret-" in out
        outputs[f"check {fmt}"] = out + err
    for extra in ((), ("--annotate",)):
        code, out, err = cli("render", "--repo", str(repo), *extra, str(repo / RUN))
        assert code == 0 and out.count("«redacted: secret-") == 2, out
        outputs[f"render {extra}"] = out + err
    for fmt in ("markdown", "text", "json"):
        code, out, err = cli("plan", "--repo", str(repo), "--base", "main", "--format", fmt)
        assert code == 1 and "redacted: secret-" in out
        outputs[f"plan {fmt}"] = out + err
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = cli("submit", "--repo", str(repo), "--base", "main", "--dry-run")
    outputs["submit dry run"] = out + err
    code, out, err = cli("submit", "--repo", str(repo), "--base", "main", "--format", "github",
                         "--repository", "acme/runs")
    assert code == 1 and "not submitted" in out  # a run with errors is never sent: no platform needed
    outputs["submit"] = out + err
    outputs["job summary"] = summary.read_text()
    for name, text in outputs.items():
        for value in canaries:
            assert value not in text, f"{name} printed a flagged value"
            assert value[-16:] not in text, f"{name} printed part of a flagged value"
