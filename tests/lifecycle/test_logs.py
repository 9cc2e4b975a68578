"""`runrepo logs` against the emulator through the real mcli (HTTP listing, websocket log subscription)."""

from __future__ import annotations

import subprocess
import time

import pytest
from lifecycle_helpers import BUNDLED, ZERO, emu_fixture, record, repo_fixture, runrepo, submit  # noqa: F401
from submit_helpers import cli_env, runrepo_cmd

ONE, TWO = BUNDLED  # TWO runs on 2 nodes


@pytest.fixture
def submitted(repo, emu):
    assert submit(repo, "--base", ZERO)[0] == 0
    return repo


def test_the_log_of_a_running_run_per_node(submitted, emu):
    two = record(emu, TWO)["name"]
    emu.schedule(two, [{"status": "RUNNING", "after": 0, "logs": {"0": "global step 10 loss 7.1\n",
                                                                  "1": "node one is here\n"}}])
    code, out, err = runrepo(submitted, "logs", TWO)
    assert code == 0 and out.endswith("global step 10 loss 7.1\n") and "node one" not in out
    assert err.startswith(f"runrepo logs: {two} (RUNNING, created ")
    code, out, _ = runrepo(submitted, "logs", TWO, "--rank", "1")
    assert code == 0 and out.endswith("node one is here\n") and f"[node 1] {two}: RUNNING on r7z2" in out
    code, out, err = runrepo(submitted, "logs", TWO, "--rank", "2")
    assert code == 2 and out == "" and err.splitlines()[-1] == (
        f"runrepo logs: error[usage] {two} runs on 2 node(s): --rank 0 to 1")


def test_a_run_that_has_not_started_says_so(submitted, emu):
    one = record(emu, ONE)["name"]
    emu.set_status(one, "QUEUED")
    code, out, err = runrepo(submitted, "logs", ONE)
    assert code == 0 and out == ""
    assert err.splitlines()[-1] == (f"runrepo logs: {one} has not started yet (QUEUED): no logs yet; "
                                    "`runrepo logs --follow` waits for it")
    assert not emu.requests("getRunLogsV2")  # nothing asked of the log API


def test_follow_waits_for_the_start_and_streams_until_the_end(submitted, emu):
    one = record(emu, ONE)["name"]
    emu.schedule(one, [{"status": "QUEUED", "after": 0.1}, {"status": "RUNNING", "after": 0.6},
                       {"after": 0.9, "logs": "step 1\n"}, {"after": 1.2, "logs": "step 2\n"},
                       {"status": "COMPLETED", "after": 1.5}])
    start = time.monotonic()
    code, out, err = runrepo(submitted, "logs", ONE, "--follow", "--poll", "0.1")
    took = time.monotonic() - start
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1:3] == ["step 1", "step 2"] and lines[-1].endswith("[node 0] COMPLETED") and len(lines) == 4
    assert f"runrepo logs: {one} has not started yet (PENDING): waiting for it" in err
    assert f"runrepo logs: {one} has not started yet (QUEUED): waiting for it" in err
    assert 1.4 < took < 30


def test_a_failed_run_shows_its_failed_node_and_a_file_without_run_fails(submitted, emu):
    two = record(emu, TWO)["name"]
    emu.schedule(two, [{"status": "RUNNING", "after": 0, "logs": {"0": "CUDA out of memory\n"}}])
    emu.set_status(two, "FAILED", "OOMKilled")  # the emulator fails every node: rank 0 is the first
    code, out, err = runrepo(submitted, "logs", TWO)
    assert code == 0 and f"{two} failed (OOMKilled): the log of its first failed node" in err
    assert out.endswith("CUDA out of memory\n" + out.splitlines()[-1] + "\n") and out.endswith("[node 0] FAILED: OOMKilled\n")
    assert emu.requests("getRunLogsV2")
    code, out, err = runrepo(submitted, "logs", "runs/experiments/none.yaml")
    assert code == 1 and out == "" and "has no platform run of this repository" in err


def test_the_console_command_exits_cleanly_after_the_websocket(submitted, emu, tmp_path):
    """mcli's log websocket runs in its own event loop: closing it must not print anything at exit."""
    one = record(emu, ONE)["name"]
    emu.schedule(one, [{"status": "RUNNING", "after": 0, "logs": "hello from the run\n"}])
    proc = subprocess.run([*runrepo_cmd(), "logs", ONE, "--repo", str(submitted.path)], capture_output=True,
                          text=True, env=cli_env(emu, tmp_path), timeout=120)
    assert proc.returncode == 0 and proc.stdout.endswith("hello from the run\n")
    (line,) = proc.stderr.splitlines()  # no "Exception ignored in MAPIConnection.__del__"
    assert line.startswith(f"runrepo logs: {one} (RUNNING, created ")
