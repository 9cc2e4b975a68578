"""The emulator as a process (`python -m runrepo.emulator`) and the real `mcli run -f` CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from runrepo.emulator import MCLI_ENV_CONFLICTS, StateStore, mcli_env
from runrepo.emulator.cli import main

TOOLS = Path(__file__).resolve().parents[2] / "tools"

RUN_YAML = """\
name: cli-smoke
image: nvcr.io/nvidia/nemo:24.05
command: |
  python /opt/NeMo/examples/nlp/language_modeling/megatron_gpt_pretraining.py
compute:
  cluster: r7z2
  gpus: 16
scheduling:
  priority: low
  max_retries: 1
env_variables:
  NCCL_DEBUG: WARN
metadata:
  git_sha: abc123
"""


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MCLI_ENV_CONFLICTS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TOOLS), env.get("PYTHONPATH")]))
    return env


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runrepo.emulator", *args],
        env=_base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    match = re.fullmatch(r"emulator listening on (http://127\.0\.0\.1:\d+/graphql)", line)
    if not match:
        proc.kill()
        pytest.fail(f"unexpected first line {line!r}; stderr: {proc.stderr.read()}")
    return proc, match.group(1)


def _mcli_run(endpoint: str, tmp_path: Path) -> subprocess.CompletedProcess:
    mcli_bin = shutil.which("mcli", path=str(Path(sys.executable).parent)) or shutil.which("mcli")
    assert mcli_bin, "the mcli console script is not installed"
    run_file = tmp_path / "run.yaml"
    run_file.write_text(RUN_YAML)
    env = {**_base_env(), **mcli_env(endpoint, config_dir=tmp_path / "mosaic"), "HOME": str(tmp_path)}
    return subprocess.run([mcli_bin, "run", "-f", str(run_file)], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(180)
def test_mcli_run_cli_against_emulator_process(tmp_path):
    state = tmp_path / "state.json"
    proc, endpoint = _start(["--port", "0", "--state", str(state)])
    try:
        done = _mcli_run(endpoint, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        [run] = StateStore(state).runs()  # read straight from the shared file
        assert re.fullmatch(r"cli-smoke-[a-z0-9]{6}", run["name"])
        assert run["name"] in done.stdout + done.stderr
        res = run["resumptions"][0]
        assert (res["clusterName"], res["gpus"], res["nodes"], res["gpuType"]) == ("r7z2", 16, 2, "a100_80gb")
        assert run["priority"] == "low" and run["maxRetries"] == 1
        assert run["details"]["metadata"] == {"git_sha": "abc123"}
        assert run["details"]["originalRunInput"]["envVariables"] == [{"envKey": "NCCL_DEBUG", "envValue": "WARN"}]

        # Faults set at runtime over HTTP: the CLI, too, reports success and leaves a duplicate.
        base = endpoint.removesuffix("/graphql")
        plan = {"rules": ["502,after,op=createRun,count=1"]}
        requests.post(f"{base}/_faults", data=json.dumps(plan), timeout=5).raise_for_status()
        again = _mcli_run(endpoint, tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(StateStore(state).runs()) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert "Traceback" not in proc.stderr.read()


@pytest.mark.timeout(60)
def test_sigint_stops_cleanly_with_faults_from_flags(tmp_path):
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"seed": 3, "rules": [{"kind": "drop", "probability": 0.5}]}))
    proc, endpoint = _start(
        [
            "--state",
            str(tmp_path / "s.json"),
            "--latency-ms",
            "10",
            "--fault",
            "429,op=getClusters,count=2",
            "--faults-file",
            str(faults),
        ]
    )
    try:
        plan = requests.get(endpoint.replace("/graphql", "/_faults"), timeout=5).json()
        assert plan["latency_ms"] == 10 and plan["seed"] == 3
        rules = [(r["kind"], r["operation"]) for r in plan["rules"]]
        assert rules == [("drop", None), ("http", "getClusters")]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "0.0.0.0"], "only loopback"),
        (["--host", "example.com"], "only loopback"),
        (["--fault", "teleport"], "cannot read fault token"),
        (["--faults-file", "/nonexistent/faults.json"], "cannot read fault file"),
        (["--port", "many"], "invalid int value"),
        (["--api-key", "=someone@example.com"], "needs a key"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--state", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_corrupt_state_file_is_reported(tmp_path, capsys):
    state = tmp_path / "s.json"
    state.write_text("{nope")
    assert main(["--state", str(state)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
