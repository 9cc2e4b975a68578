"""Property tests over generated run files and layer trees: nothing escapes, output is stable.

For every generated input, `runrepo check` and `runrepo render`:
- exit 0 or 1 only (2 is "internal error": for bad input that is a crash), never a traceback;
- give the same bytes when run twice on the same input;
- agree: render succeeds iff check reports no compose-stage finding (a rule id outside the
  rule registry: gate, defaults, merge, resolve), and then render's stderr holds those findings.

Budget: RUNREPO_FUZZ_EXAMPLES examples per property (default 120, about a minute in all).
Long run (documented in README.hardening.md):
    RUNREPO_FUZZ_EXAMPLES=5000 pytest -q tests/hardening/test_fuzz.py
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from corpus_util import FINDING, ROOT, parse
from corpus_util import cli as run_cli
from fuzz_strategies import (
    DOC,
    EDIT,
    HEADER,
    LAYER,
    MUTATION,
    NAMES,
    TEXT,
    VALID,
    apply_mutation,
    edit_lines,
    layer_text,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runrepo.rules import all_rules

EXAMPLES = int(os.environ.get("RUNREPO_FUZZ_EXAMPLES", "120"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
STATS: Counter = Counter()  # inputs tried per property, and outcomes; printed by the last test
RULES = {r.id for r in all_rules().values() if not r.stage}  # the checks; stage ids (layer-missing, ...) are not
FUZZ = "runs/experiments/fuzz.yaml"
SHARED = sorted(
    p.relative_to(ROOT).as_posix()
    for p in (ROOT / "runs").rglob("*.yaml")
    if "experiments" not in p.parts and p.name != "policy.yaml"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "runs", repo / "runs")
    return repo


def judge(repo: Path, prop: str, files: dict[str, str | bytes], runs=(FUZZ,)) -> None:
    """Write `files`, check and render `runs` twice each, assert the properties, restore the tree."""
    STATS[prop] += 1
    saved = {}
    for rel, content in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        saved[rel] = p.read_bytes() if p.exists() else None
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    try:
        for run in runs:
            _judge_one(repo, prop, run)
    finally:
        for rel, old in saved.items():
            if old is None:
                (repo / rel).unlink()
            else:
                (repo / rel).write_bytes(old)


def _judge_one(repo: Path, prop: str, run: str) -> None:
    path = str(repo / run)
    check = run_cli("check", "--repo", str(repo), "--format", "text", path)
    render = run_cli("render", "--repo", str(repo), path)
    for name, (code, out, err) in (("check", check), ("render", render)):
        text = out + err
        if code not in (0, 1) or "Traceback" in text or "internal error" in text or "error[internal]" in text:
            STATS[f"{prop}: failures"] += 1
            pytest.fail(f"{name} crashed (exit {code}):\n{text[-3000:]}")
    assert run_cli("check", "--repo", str(repo), "--format", "text", path) == check, "check is not deterministic"
    assert run_cli("render", "--repo", str(repo), path) == render, "render is not deterministic"
    findings, other = parse(check[1] + check[2])
    assert not other, other
    stage = [f for f in findings if f["rule"] not in RULES and f["rule"] != "policy-file"]
    if render[0] == 0:
        assert not stage, f"render succeeded but check says {stage}"
        STATS[f"{prop}: rendered"] += 1
    else:
        assert stage, f"render failed but check found no compose-stage error:\n{render[2]}"
        assert [ln for ln in render[2].splitlines() if FINDING.match(ln)] == [
            ln
            for ln in (check[1] + check[2]).splitlines()
            if FINDING.match(ln) and ln.split("[")[1].split("]")[0] in {f["rule"] for f in stage}
        ], "render and check name different compose errors"
        STATS[f"{prop}: refused"] += 1


# --- random YAML-ish text --------------------------------------------------------------------
@SETTINGS
@given(text=TEXT)
def test_random_text(repo, text):
    judge(repo, "random text", {FUZZ: text})


@settings(SETTINGS, max_examples=EXAMPLES * 10)
@given(text=st.integers(0, 3).flatmap(lambda i: TEXT if i == 0 else DOC))  # one_of would favour TEXT's branches
def test_gate_reads_what_omegaconf_reads(text):
    """Whatever the gate accepts, it reads exactly as OmegaConf.create does (scalar typing included)."""
    from omegaconf import OmegaConf
    from runrepo.compose.gate import parse_yaml
    from runrepo.errors import RunrepoError

    STATS["gate parity"] += 1
    try:
        data, _ = parse_yaml(text, "fuzz.yaml")
    except RunrepoError:
        STATS["gate parity: refused"] += 1
        return
    try:
        theirs = OmegaConf.to_container(OmegaConf.create(text), resolve=False) if data is not None else None
    except Exception:  # noqa: BLE001 - OmegaConf refuses more than the gate (e.g. a scalar document)
        STATS["gate parity: omegaconf refused"] += 1
        return
    if isinstance(data, (dict, list)):
        assert data == theirs or _nan_equal(data, theirs), (data, theirs)
        STATS["gate parity: equal"] += 1


def _nan_equal(a, b) -> bool:
    return repr(a) == repr(b)  # float('nan') != float('nan'), but their reprs agree


@SETTINGS
@given(raw=st.binary(max_size=300))
def test_random_bytes(repo, raw):
    judge(repo, "random bytes", {FUZZ: HEADER.encode() + raw})


# --- structured mutations of a valid run -----------------------------------------------------
@SETTINGS
@given(mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_run(repo, mutations):
    doc = yaml.safe_load(VALID)
    for m in mutations:
        doc = apply_mutation(doc, m)
    text = HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    judge(repo, "mutated run", {FUZZ: text})


# --- mutated shared layers and random layer trees --------------------------------------------
@SETTINGS
@given(layer=st.sampled_from(SHARED), edits=st.lists(EDIT, min_size=1, max_size=3))
def test_mutated_shared_layer(repo, layer, edits):
    text = edit_lines((ROOT / layer).read_text(), edits)
    judge(repo, "mutated shared layer", {layer: text, FUZZ: VALID})


@SETTINGS
@given(
    tree=st.dictionaries(NAMES, LAYER, min_size=1, max_size=5).flatmap(
        lambda d: st.tuples(st.just(d), st.sampled_from(sorted(d)))
    )
)
def test_layer_tree(repo, tree):
    layers, entry = tree
    files = {f"runs/fuzzlayers/{name}.yaml": layer_text(spec) for name, spec in layers.items()}
    run = VALID.replace("  - _self_", f"  - /fuzzlayers/{entry}\n  - _self_")
    judge(repo, "layer tree", {**files, FUZZ: run})
    for rel in files:
        (repo / rel).unlink(missing_ok=True)


def test_zz_fuzz_figures(capsys):
    """The figures of this session: inputs tried per property, how many rendered, refused, crashed."""
    with capsys.disabled():
        print("\nfuzz figures:", dict(sorted(STATS.items())))
    assert not any(v for k, v in STATS.items() if k.endswith("failures"))
