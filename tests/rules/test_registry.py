"""One test for every id in the registry: its failing example gives that id on the line marked `#<`,
and nowhere else; its fix gives none (and, for a rule over a composed run, no error at all: a fix
shown to a user is a valid run).

An example is a fragment of a run file over the standard test run (the newest NeMo release the rule
applies to, or the one its `image:` names; r7z2; single_node; gpt3_126m; a data layer), or, when it
starts with `#`, a whole run file. Ids whose failing input cannot be shown in a few lines (a 1 MiB
file, bytes that are not UTF-8, a file name, the policy file, another command) name the test that
proves them instead, and that test is checked to exist and name the id.
"""

from __future__ import annotations

import re

import pytest
from rulekit import MARK, ROOT_RUNS, marked_line
from runrepo.releases import release_key, release_of
from runrepo.rules import all_rules

TESTS = ROOT_RUNS.parent / "tests"
PROVEN_ELSEWHERE = {  # id -> the test that proves it
    "layer-size": "hardening/cases_yaml.py",
    "layer-encoding": "hardening/cases_yaml.py",
    "yaml-depth": "hardening/cases_yaml.py",
    "yaml-size": "hardening/cases_yaml.py",
    "metadata-size": "hardening/cases_compose.py",
    "run-file-name": "validate/test_stray_files.py",
    "policy-file": "hardening/cases_policy.py",
    "policy-pr-gpu-hours": "submit/test_submit_identity.py",
    "import-form": "author/test_author_import.py",
    "platform": "submit/test_submit_errors.py",
    "internal": "rules/test_rules_robust.py",
    "defaults-loop": "hardening/cases_compose.py",  # a layer that lists itself, or two that list each other
    "datasets-file": "rules/test_rules_datasets.py",  # runs/datasets.yaml, not a run file
}
RELEASES = sorted((p.stem[1:].replace("_", ".") for p in (ROOT_RUNS / "nemo").glob("v*.yaml")), key=release_key)
STANDARD = {"cluster": "r7z2", "node": "single_node", "model": "gpt3_126m", "testdata": "pile"}


def _release(rule, text: str) -> str:
    image = re.search(r"(?m)^image: (\S+)", text)
    named = release_of(image.group(1)) if image else None
    if named and rule.applies(named):
        return named
    return next((r for r in reversed(RELEASES) if rule.applies(r)), RELEASES[-1])


def run_file(rule, example: str) -> str:
    """The run file an example stands for (see the module docstring). An example's defaults entry
    takes the place of the standard entry of its group, as written (comments and marker kept);
    other entries join the list before `_self_`."""
    if example.startswith("#"):
        return example + "\n"
    entries = {"nemo": "  - /nemo: v" + _release(rule, example).replace(".", "_"), "base": "  - /base"}
    entries.update({g: f"  - /{g}: {o}" for g, o in STANDARD.items()})
    lines, body, extra = example.splitlines(), [], []
    i = 0
    while i < len(lines):
        if lines[i] == "defaults:":
            i += 1
            while i < len(lines) and lines[i].startswith("  - "):
                group = lines[i][4:].split("#")[0].split(":")[0].strip().lstrip("/")
                if group in entries:
                    entries[group] = lines[i]
                else:
                    extra.append(lines[i])
                i += 1
            continue
        body.append(lines[i])
        i += 1
    if "data_prefix" in example:  # the data layer's list cannot merge with another form
        del entries["testdata"]
    head = ["# @package _global_", "defaults:", *entries.values(), *extra, "  - _self_"]
    if not re.search(r"(?m)^name:", example):
        head.append("name: t-run")
    return "\n".join(head + body) + "\n"


def _findings(repo, text: str, rule=None):
    """Check the example as a run file: a data run (runs/data/) for rules that judge only data runs."""
    folder = "data" if rule is not None and "training" not in rule.kinds else "experiments"
    rel = repo.write(f"runs/{folder}/t.yaml", text)
    return repo.check(rel), rel


def test_every_id_has_an_example_or_names_its_proof():
    rules = all_rules()
    assert set(PROVEN_ELSEWHERE) <= set(rules)
    for r in rules.values():
        assert r.doc and "\n" not in r.doc and r.severity in ("error", "warning"), r.id
        if r.id in PROVEN_ELSEWHERE:
            assert not r.example, f"{r.id} has an example now: take it out of PROVEN_ELSEWHERE"
            assert r.id in (TESTS / PROVEN_ELSEWHERE[r.id]).read_text(), r.id
        else:
            assert r.example and r.fix, f"{r.id}: a failing example and its fix, or a test in PROVEN_ELSEWHERE"
            assert MARK not in r.fix, r.id


@pytest.mark.parametrize("rule_id", sorted(i for i in all_rules() if i not in PROVEN_ELSEWHERE))
def test_example_fails_on_its_marked_line_and_the_fix_passes(repo, rule_id):
    r = all_rules()[rule_id]
    text = run_file(r, r.example)
    findings, rel = _findings(repo, text, r)
    mine = [f for f in findings if f.rule == rule_id]
    assert mine, f"{rule_id}: its example gives no {rule_id} finding; got {[str(f) for f in findings]}"
    line = marked_line(text)
    assert {(f.file, f.line) for f in mine} == {(rel, line)}, f"{rule_id}: {[str(f) for f in mine]}"

    findings, _ = _findings(repo, run_file(r, r.fix), r)
    assert [str(f) for f in findings if f.rule == rule_id] == [], f"{rule_id}: its fix still fails"
    if not r.stage:
        assert [str(f) for f in findings if f.severity == "error"] == [], f"{rule_id}: its fix is not a valid run"
