"""Every id a finding can carry is known to `runrepo rules`: the ids are found in the code (every
RunrepoError and Finding constructed anywhere in the package), not kept in a list here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from runrepo.errors import NOT_FINDINGS
from runrepo.rules import all_rules
from runrepo_testing import ROOT

PACKAGE = ROOT / "tools" / "runrepo"
PASSED_ON = ("rule", "id")  # `RunrepoError(e.rule, ...)`, `Finding(..., r.id, ...)`: an id raised elsewhere


def _strings(node) -> set[str]:
    return {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def _assigned(scope) -> dict[str, set[str]]:
    """name -> the string constants assigned to it in this scope (module constants, `rule = ...` branches)."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out.setdefault(target.id, set()).update(_strings(node.value))
    return out


def raised_ids(path: Path) -> tuple[set[str], list[str]]:
    """(ids, what could not be read) of every RunrepoError(id, ...) and Finding(file, line, col, id, ...)."""
    tree = ast.parse(path.read_text())
    module = _assigned(tree)
    ids, unknown = set(), []
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        local = _assigned(scope) if scope is not tree else {}
        for node in ast.walk(scope):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            args = dict(enumerate(node.args))
            arg = args.get(0) if name == "RunrepoError" else args.get(3) if name == "Finding" else None
            if name in ("RunrepoError", "Finding"):
                arg = arg or next((k.value for k in node.keywords if k.arg == "rule"), None)
            if arg is None:
                continue
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ids.add(arg.value)
            elif isinstance(arg, ast.Name) and (local.get(arg.id) or module.get(arg.id)):
                ids |= local.get(arg.id) or module[arg.id]
            elif not (isinstance(arg, ast.Attribute) and arg.attr in PASSED_ON):
                unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(arg)}")
    return ids, unknown


def all_raised() -> tuple[set[str], list[str]]:
    ids, unknown = set(), []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "emulator" in path.parts:  # the emulator is the platform's stand-in, not the tool's findings
            continue
        found, bad = raised_ids(path)
        ids |= found
        unknown += bad
    return ids, unknown


def test_the_scan_sees_the_pipeline_ids():
    """The scan itself can fail: it must find ids raised in the gate, composition and resolution."""
    ids, _ = all_raised()
    assert {"layer-missing", "yaml-syntax", "defaults-self", "merge-type", "interpolation-resolver",
            "policy-file", "internal"} <= ids


def test_every_raised_id_is_a_known_rule():
    ids, unknown = all_raised()
    assert unknown == [], "rule ids the scan cannot read: use a constant"
    missing = sorted(ids - set(all_rules()) - set(NOT_FINDINGS))
    assert missing == [], f"ids a finding can carry that `runrepo rules` does not know: {missing}"


@pytest.mark.parametrize("rule_id", ["layer-missing", "yaml-syntax", "defaults-self"])
def test_rules_explains_pipeline_ids(cli, rule_id):
    code, out, err = cli("rules", rule_id)
    assert code == 0 and err == "" and out.startswith(f"{rule_id} (error, ")


def test_pipeline_ids_are_documented_and_never_run_as_checks(repo):
    from rulekit import composed, run_text

    staged = [r for r in all_rules().values() if r.stage]
    assert staged and all(r.doc and "\n" not in r.doc and r.family == r.stage for r in staged)
    rel = repo.write("runs/experiments/t.yaml", run_text(""))
    composed(repo.check(rel))  # a run that composes carries no pipeline id
