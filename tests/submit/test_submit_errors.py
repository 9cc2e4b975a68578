"""Failures a person must be able to act on: one clear line per run, a non-zero exit, nothing skipped silently."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from submit_helpers import (  # noqa: F401 (fixtures)
    BUNDLED,
    ZERO,
    cli_env,
    emu_fixture,
    live_paths,
    repo_fixture,
    run_text,
    runrepo_cmd,
    statuses,
    submit,
)

BIG = "runs/experiments/too-big.yaml"


def _one_line_per_run(data: dict, needle: str) -> None:
    rows = data["runs"]
    assert rows and all(r["status"] == "failed" for r in rows)
    assert all(needle in r["detail"] and "\n" not in r["detail"] for r in rows), rows


def test_bad_api_key(repo, emu, monkeypatch):
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    code, data, err = submit(repo, "--base", ZERO)
    assert code == 1
    _one_line_per_run(data, "API key was rejected")
    assert "Traceback" not in err
    assert emu.runs() == [] and not emu.requests("createRun")


def test_no_api_key_at_all(repo, emu, monkeypatch):
    monkeypatch.delenv("MOSAICML_API_KEY")
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 1
    _one_line_per_run(data, "MOSAICML_API_KEY")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_fails_in_seconds(repo, emu, tmp_path):
    """A real process, so the time includes mcli's import and nothing can hang at exit."""
    env = cli_env(emu, tmp_path, MOSAICML_API_ENDPOINT=f"http://127.0.0.1:{_closed_port()}/graphql")
    start = time.monotonic()
    done = subprocess.run(
        [*runrepo_cmd(), "submit", "--repo", str(repo.path), "--base", ZERO],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("runs/") and ": failed:" in line]
    assert len(lines) == len(BUNDLED) and all("cannot reach http://127.0.0.1:" in ln for ln in lines)
    assert "Traceback" not in done.stderr
    assert elapsed < 30, elapsed  # generous for a loaded CI machine; typically about 3 s


def test_platform_validation_error_fails_that_run_only(repo, emu):
    c0 = repo.head()
    # 64 GPUs on r1z1: `check` accepts it, but the platform's r1z1 has 32 GPUs.
    repo.write(
        BIG,
        run_text("too-big", cluster="r1z1").replace("/node: single_node", "/node: multi_node")
        + "compute:\n  nodes: 8\n",
    )
    repo.write("runs/experiments/fine.yaml", run_text("fine"))
    c1 = repo.commit("one the platform refuses")
    code, data, err = submit(repo, "--base", c0, "--head", c1)
    assert code == 1
    assert statuses(data) == {BIG: "failed", "runs/experiments/fine.yaml": "created"}
    detail = next(r["detail"] for r in data["runs"] if r["file"] == BIG)
    assert "platform refused it (400)" in detail and "cluster r1z1 has 32" in detail
    assert len(emu.requests("createRun")) == 2  # refused once, never retried


def test_transient_errors_are_retried_and_reported_when_persistent(repo, emu):
    emu.set_faults(rules=["429,op=getRunsPaginated,count=2", "503,op=createRun,count=1"])
    code, data, err = submit(repo, "--base", ZERO)
    assert code == 0 and set(statuses(data).values()) == {"created"}, (data['runs'], err)
    assert live_paths(emu) == BUNDLED

    emu.reset()
    emu.set_faults(rules=["502,op=createRun"])  # every create answered by a gateway error page
    code, data, _ = submit(repo, "--base", ZERO)
    assert code == 1
    _one_line_per_run(data, "not submitted after 4 attempt(s): platform error 502")
    assert emu.runs() == []


def test_bad_arguments_are_usage_errors(repo, capsys):
    from runrepo.cli import main

    assert main(["submit", "--repo", str(repo.path), "--base", "no-such-rev"]) == 2
    assert "--base no-such-rev: not a commit" in capsys.readouterr().err
    assert main(["submit", "--repo", str(repo.path), "--base", ZERO, "--concurrency", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert main(["submit", "--repo", str(repo.path / "nope"), "--base", ZERO]) == 2


def test_auto_base_without_history_needs_a_fallback(repo, emu):
    code, data, err = submit(repo, "--base", "auto")
    assert code == 2 and "give --fallback-base" in err


def test_auto_base_with_the_platform_down_reports_every_run_of_the_fallback_range(repo, emu, tmp_path):
    env = cli_env(emu, tmp_path, MOSAICML_API_ENDPOINT=f"http://127.0.0.1:{_closed_port()}/graphql")
    done = subprocess.run(
        [
            *runrepo_cmd(),
            "submit",
            "--repo",
            str(repo.path),
            "--base",
            "auto",
            "--fallback-base",
            ZERO,
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "--base auto needs the platform: cannot reach" in done.stderr
    import json

    rows = json.loads(done.stdout)["runs"]
    assert len(rows) == len(BUNDLED) and all(r["status"] == "failed" and "cannot reach" in r["detail"] for r in rows)


def test_a_payload_with_nan_or_infinity_is_never_sent(emu):
    """The submit payload is strict JSON: a NaN that got past everything else is refused here."""
    import json

    from runrepo.submit.platform import Platform, PlatformError, mcli_session

    run = {"name": "x", "image": "nvcr.io/nvidia/nemo:24.09", "command": "true", "compute": {"cluster": "r7z2"},
           "parameters": {"model": {"optim": {"lr": float("nan")}}}, "metadata": {}}
    with mcli_session():
        with pytest.raises(PlatformError, match=r"nan at parameters\.model\.optim\.lr: not sent"):
            Platform(timeout=5).create(run)
        run["parameters"]["model"]["optim"]["lr"] = float("-inf")
        with pytest.raises(PlatformError, match=r"-inf at parameters\.model\.optim\.lr"):
            Platform(timeout=5).create(run)
    assert emu.requests("CreateRun") == [] and emu.runs() == []
    for record in emu.requests():  # nothing that reached the emulator carries a non-JSON number
        json.loads(json.dumps(record), parse_constant=lambda c: pytest.fail(f"{c} in a request"))
