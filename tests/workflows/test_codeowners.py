"""`.github/CODEOWNERS` covers every path that decides how runs are judged, built or submitted.

pr.yml's changes job marks a pull request touching RULES_PATHS as "needs a code owner"; CODEOWNERS
is what makes GitHub ask for that review. The two lists must be the same, and cover every file.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess

from runrepo_testing import ROOT
from wf_helpers import WORKFLOWS, load

CODEOWNERS = ROOT / ".github" / "CODEOWNERS"
OWNER = re.compile(r"^@[A-Za-z0-9-]+(/[A-Za-z0-9._-]+)?$")
# What issue 11 names: the tool, schemas, the policy, the workflows, and what installs the tool.
REQUIRED = {"tools/", "schemas/", "runs/policy.yaml", ".github/", "pyproject.toml", "requirements/"}


def rules() -> list[tuple[str, list[str]]]:
    out = []
    for line in CODEOWNERS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pattern, *owners = line.split()
            out.append((pattern, owners))
    return out


def matches(pattern: str, path: str) -> bool:
    """The forms this file uses: anchored (`/x`), a directory (`/x/`), or a file (`/x.yaml`)."""
    assert pattern.startswith("/") and "**" not in pattern, f"unanchored or ** pattern: {pattern} (not modelled here)"
    p = pattern[1:]
    if p.endswith("/"):
        return path.startswith(p)
    return fnmatch.fnmatchcase(path, p) or path.startswith(p + "/")


def owners_of(path: str, lines: list | None = None) -> list[str]:
    """GitHub's rule: the last matching line wins; a line without owners unowns."""
    found: list[str] = []
    for pattern, owners in rules() if lines is None else lines:
        if matches(pattern, path):
            found = owners
    return found


def rules_paths() -> list[str]:
    (step,) = [s for s in load(WORKFLOWS / "pr.yml")["jobs"]["changes"]["steps"] if "run" in s]
    return step["env"]["RULES_PATHS"].split()


def sensitive(path: str) -> bool:
    return any(path.startswith(p) if p.endswith("/") else path == p for p in rules_paths())


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\0") if p]


def test_owners_are_teams_or_users_and_the_placeholder_is_explained():
    assert rules(), "CODEOWNERS has no rule"
    for pattern, owners in rules():
        assert owners and all(OWNER.match(o) for o in owners), f"{pattern}: owners {owners}"
    text = CODEOWNERS.read_text()
    if "@your-org/" in text:
        assert re.search(r"^# Replace @your-org/\S+ with your own team", text, re.M)
    assert not (ROOT / "CODEOWNERS").exists() and not (ROOT / "docs" / "CODEOWNERS").exists()


def test_codeowners_and_the_plan_mark_name_the_same_paths():
    assert REQUIRED <= set(rules_paths())
    assert sorted(p.lstrip("/") for p, _ in rules()) == sorted(rules_paths())


def test_every_sensitive_path_has_an_owner():
    for p in rules_paths():
        sample = p + "new/file.py" if p.endswith("/") else p
        assert owners_of(sample), f"{sample} has no code owner"
    for path in tracked():
        assert bool(owners_of(path)) == sensitive(path), f"{path}: owned {owners_of(path)}, sensitive {sensitive(path)}"


def test_run_files_and_layers_need_no_code_owner():
    """Their review is the plan; an owner for everything (`*`) would make every run wait for a maintainer."""
    for path in ("runs/experiments/new-run.yaml", "runs/base.yaml", "runs/cluster/r7z2.yaml", "README.md"):
        assert owners_of(path) == [], path
    assert owners_of("runs/policy.yaml")


def test_the_matcher_follows_last_match_wins():
    lines = [("/tools/", ["@a/b"]), ("/tools/free.py", []), ("/x.yaml", ["@c"])]
    assert owners_of("tools/runrepo/cli.py", lines) == ["@a/b"] and owners_of("tools/free.py", lines) == []
    assert owners_of("x.yaml", lines) == ["@c"] and owners_of("x.yaml.bak", lines) == []
    assert owners_of("toolsx/a", lines) == []
