"""CLI basics: --version, rules in every format, colour on a TTY (NO_COLOR off), shell completion
generated from the parser, help on every option, and a top-level help that says what the tool is."""

from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from runrepo.cli import build_parser
from runrepo_testing import ROOT

RUNREPO = [sys.executable, "-m", "runrepo.cli"]


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out == f"runrepo {version('runrepo')}\n"


def test_top_level_help_describes_the_tool(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "thin shell" not in out
    for needle in ("NeMo Megatron", "MosaicML", "before any GPU is allocated", "runrepo new", "runrepo plan",
                   "Exit codes", "completion"):
        assert needle in out


def _subparsers(parser):
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices.items()


def test_every_option_and_argument_has_help():
    parser, _ = build_parser()
    missing = [
        f"{name} {a.option_strings or a.dest}"
        for name, p in [("runrepo", parser), *_subparsers(parser)]
        for a in p._actions
        if not a.help and not isinstance(a, argparse._SubParsersAction)
    ]
    assert missing == []


def test_every_format_option_explains_each_choice():
    parser, _ = build_parser()
    formats = [(name, a) for name, p in _subparsers(parser) for a in p._actions if "--format" in a.option_strings]
    assert len(formats) >= 6
    for name, a in formats:
        for choice in a.choices:
            assert f"{choice}:" in a.help, f"runrepo {name} --format: {choice!r} is not explained"


def test_rules_formats(cli):
    code, out, _ = cli("rules", "--format", "json")
    rules = json.loads(out)
    assert code == 0 and {"batch-divisible", "layer-missing"} <= {r["id"] for r in rules}
    one = next(r for r in rules if r["id"] == "batch-divisible")
    assert one["severity"] == "error" and one["example"] and one["fix"] and one["releases"] == "all"
    code, out, _ = cli("rules", "--format", "markdown")
    assert code == 0 and out.startswith("| rule | severity |") and "| `batch-divisible` | error |" in out
    code, out, _ = cli("rules", "batch-divisible", "--format", "json")
    assert code == 0 and json.loads(out)["id"] == "batch-divisible"
    code, out, _ = cli("rules", "batch-divisible", "--format", "markdown")
    assert code == 0 and out.startswith("### `batch-divisible`") and "```yaml" in out


def _in_a_terminal(args: list[str], env: dict) -> str:
    """Run runrepo with its stdout on a pseudo-terminal; what it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(RUNREPO + args, stdout=follower, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower side closed
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode()


@pytest.fixture
def broken(tmp_path):
    shutil.copytree(ROOT / "runs", tmp_path / "runs")
    run = tmp_path / "runs" / "experiments" / "gpt3-126m-1node.yaml"
    run.write_text(run.read_text() + "  trainer:\n    accumulate_grad_batches: 4\n")
    return str(run)


def test_colour_on_a_terminal_and_never_with_no_color(broken):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm"
    painted = _in_a_terminal(["check", broken], env)
    assert "\x1b[31m\x1b[1merror\x1b[0m[accumulate-grad-batches]" in painted
    plain = _in_a_terminal(["check", broken], {**env, "NO_COLOR": "1"})
    assert "error[accumulate-grad-batches]" in plain and "\x1b[" not in plain
    rules = _in_a_terminal(["rules"], env)
    assert "\x1b[1mbatch-divisible\x1b[0m" in rules


def test_no_colour_when_piped(cli, broken):
    code, out, _ = cli("check", broken)
    assert code == 1 and "error[accumulate-grad-batches]" in out and "\x1b[" not in out


def _bash_complete(script: Path, *words: str) -> list[str]:
    cmd = (
        f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
        'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _runrepo; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(filter(None, out.splitlines()))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_from_the_parser(cli, tmp_path):
    code, out, _ = cli("completion", "bash")
    script = tmp_path / "runrepo.bash"
    script.write_text(out)
    assert code == 0 and subprocess.run(["bash", "-n", str(script)]).returncode == 0
    parser, _ = build_parser()
    assert _bash_complete(script, "runrepo", "") == sorted(
        ["-h", "--help", "--version", "--repo"] + [name for name, _ in _subparsers(parser)]
    )
    assert _bash_complete(script, "runrepo", "ch") == ["changes", "check"]
    assert _bash_complete(script, "runrepo", "check", "--format", "") == ["github", "json", "text"]
    assert _bash_complete(script, "runrepo", "--repo", ".", "new", "--cluster", "") == ["r1z1", "r7z2", "r9z1"]
    assert _bash_complete(script, "runrepo", "rules", "layer-m") == ["layer-missing"]
    assert "runs/experiments/gpt3-126m-1node.yaml" in _bash_complete(script, "runrepo", "check", "runs/experiments/")
    assert "--annotate" in _bash_complete(script, "runrepo", "render", "--")


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_parses(cli, tmp_path):
    code, out, _ = cli("completion", "zsh")
    script = tmp_path / "_runrepo"
    script.write_text(out)
    assert code == 0 and out.startswith("#compdef runrepo\n")
    assert subprocess.run(["zsh", "-n", str(script)]).returncode == 0
    assert "'check:validate run files" in out and "(text markdown json)" in out and "{_runrepo_layers cluster}" in out
