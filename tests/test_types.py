"""mypy --strict over the typed packages ([tool.mypy] `files` in pyproject.toml), that strictness biting
where it matters (a rule of the wrong shape is refused), and pre-commit's mypy hook on the locked versions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name
from runrepo_testing import ROOT

pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mypy` from the repository root, with its configuration (strict)."""
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_typed_packages_pass_mypy_strict():
    done = mypy()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    checked = re.search(r"Success: no issues found in (\d+) source files", done.stdout)
    assert checked and int(checked.group(1)) >= 50, done.stdout  # the lower packages, not an empty list


BAD_RULES = '''\
from __future__ import annotations

from collections.abc import Iterator

from runrepo.rules.context import RunCtx
from runrepo.rules.registry import Hit, rule


@rule("t-untyped", "a rule without annotations")
def untyped(ctx):  # untyped
    yield Hit(("compute",), "m")


@rule("t-not-a-context", "a check over something else")  # not-a-context
def not_a_context(ctx: int) -> Iterator[Hit]:
    yield Hit(("compute",), "m")


@rule("t-not-hits", "a check that yields strings")  # not-hits
def not_hits(ctx: RunCtx) -> Iterator[str]:
    yield "m"


@rule("t-severity", "a severity that does not exist", severity="fatal")  # severity
def severity(ctx: RunCtx) -> Iterator[Hit]:
    yield Hit(("compute",), "m", "warn")  # hit-severity


@rule("t-fine", "a rule as rules are written")
def fine(ctx: RunCtx) -> Iterator[Hit]:
    if ctx.int_p("model.num_layers", 1) > ctx.tp and ctx.release:
        yield Hit(ctx.blame("compute.gpus", ("compute", "nodes")), f"{ctx.get('compute.gpus')!r} {ctx.where('name')}")
'''


def test_mypy_refuses_a_rule_of_the_wrong_shape(tmp_path: Path):
    """rule() keeps the decorated function's type: every rule is checked as (RunCtx) -> Iterator[Hit]."""
    path = tmp_path / "bad_rules.py"
    path.write_text(BAD_RULES)
    done = mypy("--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), str(path))
    lines = BAD_RULES.splitlines()
    flagged = {int(m.group(1)) for m in re.finditer(rf"{re.escape(path.name)}:(\d+): error", done.stdout)}
    expected = {i for i, line in enumerate(lines, 1) if re.search(r"# (untyped|not-a-context|not-hits|severity|hit-"
                                                                  r"severity)$", line)}
    assert done.returncode == 1 and flagged == expected, done.stdout


def test_the_pre_commit_hook_runs_the_locked_versions():
    """The hook's environment is pre-commit's own: its pins are the ones the tests and CI install."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (hook,) = [h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "mypy"]
    assert hook["pass_filenames"] is False  # mypy checks [tool.mypy] files, whatever changed
    locked = dict(re.findall(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", (ROOT / "requirements/test.lock").read_text()))
    locked = {canonicalize_name(k): v for k, v in locked.items()}
    pins = dict(dep.split("==") for dep in hook["additional_dependencies"])
    assert "mypy" in pins
    for name, version in pins.items():
        assert locked.get(canonicalize_name(name)) == version, f"{name}=={version}: requirements/test.lock has " \
                                                               f"{locked.get(canonicalize_name(name))}"
