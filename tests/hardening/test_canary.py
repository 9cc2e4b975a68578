"""Canary: secret-looking variables in the environment (as in CI) never reach any output.

Unique random values are put in MOSAICML_API_KEY, AWS_SECRET_ACCESS_KEY, WANDB_API_KEY,
GITHUB_TOKEN, ...; then every way the tool turns a run into text is exercised: render (fast,
annotated, Hydra), check in every format, plan in every format, submit against the emulator
(the stored payloads and request log), logs on stderr and $GITHUB_STEP_SUMMARY. Runs that *try*
to read the variables (`${oc.env:...}`) are part of the input. No value may appear anywhere.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_util import ROOT
from corpus_util import cli as run_cli

NAMES = (
    "MOSAICML_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "WANDB_API_KEY",
    "GITHUB_TOKEN",
    "HF_TOKEN",
    "NGC_API_KEY",
    "DATABRICKS_TOKEN",
)
from runrepo_testing import GIT_ENV  # noqa: E402

RUN = """\
# @package _global_
defaults:
  - /nemo: v1_13
  - /base
  - /cluster: r7z2
  - /node: single_node
  - /model: gpt3_126m
  - _self_
name: {name}
{extra}parameters:
  model:
    data:
      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]
"""
TRIES = {  # runs that try to pull a variable in; each is refused, or keeps the text literally
    "canary-env": "env_variables:\n  WANDB_API_KEY: ${oc.env:WANDB_API_KEY}\n",
    "canary-command": "command: echo ${oc.env:GITHUB_TOKEN,none} && ${runrepo.launch}\n",
    "canary-default": "metadata:\n  key: ${oc.env:NOPE,${oc.env:MOSAICML_API_KEY}}\n",
    "canary-decode": "metadata:\n  aws: '${oc.decode:${oc.env:AWS_SECRET_ACCESS_KEY}}'\n",
    "canary-escaped": "command: echo '\\${oc.env:HF_TOKEN}' && ${runrepo.launch}\n",
}


@pytest.fixture
def canaries(monkeypatch) -> dict[str, str]:
    values = {n: f"canary{n.lower().replace('_', '')}{secrets.token_hex(12)}" for n in NAMES}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


@pytest.fixture
def repo(tmp_path) -> tuple[Path, str]:
    """A git repository: the project's runs/ on a base commit, then the canary runs on top."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "runs", repo / "runs")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD").strip()
    for name, extra in {"canary-ok": "", **TRIES}.items():
        (repo / "runs" / "experiments" / f"{name}.yaml").write_text(RUN.format(name=name, extra=extra))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "canary runs")
    return repo, base


def _assert_clean(texts: dict[str, str], values: dict[str, str]) -> None:
    for where, text in texts.items():
        for name, value in values.items():
            assert value not in text, f"{name}'s value leaked into {where}"


def test_render_and_check_leak_nothing(repo, canaries, caplog):
    path, _ = repo
    caplog.set_level(logging.DEBUG)
    texts: dict[str, str] = {}
    runs = sorted((path / "runs" / "experiments").glob("*.yaml"))
    for run in runs:
        for extra in ((), ("--annotate",), ("--engine", "hydra")):
            code, out, err = run_cli("render", "--repo", str(path), str(run), *extra)
            texts[f"render {run.name} {extra}"] = out + err
            if run.stem in TRIES and run.stem != "canary-escaped":
                assert code == 1, f"{run.name} rendered: {out}"
    for fmt in ("text", "json", "github"):
        code, out, err = run_cli("check", "--repo", str(path), "--all", "--format", fmt)
        texts[f"check {fmt}"] = out + err
        assert code == 1  # the runs that try to read the environment are refused
    texts["logs"] = caplog.text
    _assert_clean(texts, canaries)
    escaped = run_cli("render", "--repo", str(path), str(path / "runs/experiments/canary-escaped.yaml"))[1]
    assert "${oc.env:HF_TOKEN}" in escaped  # kept as text: the run's own container resolves it, not CI


def _subprocess_env(canaries: dict[str, str], tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MOSAICML_", "MCLI_"))}
    return {**env, **canaries, **GIT_ENV, "HOME": str(tmp), "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"), **extra}


def test_plan_leaks_nothing(repo, canaries, tmp_path):
    path, base = repo
    env = _subprocess_env(canaries, tmp_path)
    texts = {}
    for fmt in ("markdown", "json", "text"):
        p = subprocess.run(
            [sys.executable, "-m", "runrepo.cli", "plan", "--repo", str(path), "--base", base, "--format", fmt],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert "Traceback" not in p.stderr
        texts[f"plan {fmt}"] = p.stdout + p.stderr
    summary = tmp_path / "summary.md"
    texts["step summary"] = summary.read_text() if summary.exists() else ""
    _assert_clean(texts, canaries)
    assert "canary-ok" in texts["plan markdown"]


def test_submit_leaks_nothing(repo, canaries, tmp_path):
    from runrepo.emulator import mcli_env, running_emulator

    path, base = repo
    with running_emulator(tmp_path / "state.json") as emu:
        # the MOSAICML_API_KEY canary is the key mcli really uses: it may travel in a header, never in a payload
        env = _subprocess_env(
            canaries, tmp_path, **mcli_env(emu.endpoint, canaries["MOSAICML_API_KEY"], config_dir=tmp_path / "mosaic")
        )
        texts = {}
        for fmt in ("text", "json", "github"):
            p = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "runrepo.cli",
                    "submit",
                    "--repo",
                    str(path),
                    "--base",
                    base,
                    "--format",
                    fmt,
                    "--retry-wait",
                    "0.01",
                    "--timeout",
                    "20",
                    "--repository",
                    "acme/canary",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert "Traceback" not in p.stderr
            texts[f"submit {fmt}"] = p.stdout + p.stderr
        texts["emulator state"] = Path(emu.state_path).read_text()
        texts["emulator requests"] = repr(emu.requests())
        created = [r for r in emu.runs() if "canary-ok" in repr(r)]
    summary = tmp_path / "summary.md"
    texts["step summary"] = summary.read_text() if summary.exists() else ""
    _assert_clean(texts, canaries)
    assert created, "the valid canary run was not submitted: " + texts["submit text"][-2000:]


def test_status_and_logs_leak_nothing(repo, canaries, tmp_path):
    """After the merge: status in every format and a run's log, with the canary as the real key."""
    from runrepo.emulator import mcli_env, running_emulator

    path, base = repo
    with running_emulator(tmp_path / "state.json", lifecycle="RUNNING@0") as emu:
        env = _subprocess_env(
            canaries, tmp_path, **mcli_env(emu.endpoint, canaries["MOSAICML_API_KEY"], config_dir=tmp_path / "mosaic")
        )

        def runrepo(*args: str) -> str:
            p = subprocess.run([sys.executable, "-m", "runrepo.cli", *args, "--repo", str(path), "--repository",
                                "acme/canary"], capture_output=True, text=True, env=env, timeout=300)
            assert "Traceback" not in p.stderr
            return p.stdout + p.stderr

        runrepo("submit", "--base", base, "--retry-wait", "0.01")
        texts = {f"status {fmt}": runrepo("status", "--format", fmt) for fmt in ("text", "json", "markdown")}
        texts["logs"] = runrepo("logs", "runs/experiments/canary-ok.yaml")
    _assert_clean(texts, canaries)
    assert "canary-ok" in texts["status text"] and "RUNNING on r7z2" in texts["logs"]
