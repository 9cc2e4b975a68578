"""Fixtures: an in-process emulator and the real mcli SDK pointed at it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
try:
    import runrepo  # noqa: F401
except ImportError:  # not pip-installed yet: use the source tree
    sys.path.insert(0, str(TOOLS))

from runrepo.emulator import MCLI_ENV_CONFLICTS, mcli_env, running_emulator  # noqa: E402

RUN = {
    "name": "nemo-gpt-test",
    "image": "nvcr.io/nvidia/nemo:24.05",
    "command": "python train.py",
    "compute": {"cluster": "r1z1", "gpus": 8},
    "metadata": {"git_sha": "abc123", "experiment": {"lr": 0.0003}},
}


@pytest.fixture
def emulator(tmp_path):
    with running_emulator(tmp_path / "state.json") as emu:
        yield emu


@pytest.fixture
def sleeps(monkeypatch):
    """Record the waits mcli's backoff asks for, and sleep `scale` times as long (0 by default)."""
    import backoff._sync

    recorder = SimpleNamespace(waits=[], scale=0.0)

    def fake_sleep(seconds: float) -> None:
        recorder.waits.append(seconds)
        time.sleep(seconds * recorder.scale)

    monkeypatch.setattr(backoff._sync, "time", SimpleNamespace(sleep=fake_sleep))
    return recorder


@pytest.fixture
def mcli(emulator, sleeps, monkeypatch, tmp_path):
    """The real mcli SDK, talking to `emulator` with key test-key and no real config file."""
    import mcli as sdk
    import mcli.config
    from mcli.api.engine import engine

    for name in MCLI_ENV_CONFLICTS:
        monkeypatch.delenv(name, raising=False)
    for name, value in mcli_env(emulator.endpoint, config_dir=tmp_path / "mosaic").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    # The config path is fixed when mcli is imported; the connection caches the endpoint.
    monkeypatch.setattr(mcli.config, "MCLI_CONFIG_PATH", tmp_path / "mosaic" / "mcli_config")
    monkeypatch.setattr(engine, "_CONNECTION", None)
    return sdk


@pytest.fixture
def base_run():
    return RUN


@pytest.fixture
def run_config(mcli):
    def make(**overrides):
        return mcli.RunConfig.from_dict({**RUN, **overrides})

    return make
