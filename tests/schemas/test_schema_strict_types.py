""" "integer" is strict in this project's validation: 8.0 is refused where the platform or NeMo wants
an int, by the fast validator (jsonschema-rs) and the one that words errors (jsonschema) alike,
while number fields keep taking integral floats."""

from __future__ import annotations

import copy
import random

import jsonschema_rs
import pytest
from runrepo.validate import schema as sch
from schema_helpers import nemo_default

RUN = {
    "name": "nemo-gpt-test",
    "image": "nvcr.io/nvidia/nemo:22.11",
    "command": "python train.py",
    "compute": {"cluster": "r7z2", "nodes": 1, "gpus": 8, "gpu_type": "a100_80gb"},
    "scheduling": {"priority": "low", "max_duration": 24.0},
    "metadata": {},
}


def both(instance, name: str) -> tuple[bool, bool]:
    """(fast validator says valid, wording validator finds no error)."""
    return sch.fast_validator(name).is_valid(instance), not list(sch.validator(name).iter_errors(instance))


def test_jsonschema_libraries_accept_8_0_as_an_integer():
    """Why this module exists: draft 2020-12 counts 8.0 as an integer, and both libraries agree."""
    from jsonschema import Draft202012Validator

    assert Draft202012Validator({"type": "integer"}).is_valid(8.0)
    assert jsonschema_rs.validator_for({"type": "integer"}).is_valid(8.0)


@pytest.mark.parametrize("field, value", [("gpus", 512.0), ("gpus", 8.0), ("nodes", 2.0), ("gpus", 8.5)])
def test_compute_counts_refuse_decimals(field, value):
    run = copy.deepcopy(RUN)
    run["compute"][field] = value
    assert both(run, "mcli-run.json") == (False, False)
    [(path, msg)] = sch.validate(run, "mcli-run.json")
    assert path == ("compute", field)
    if value.is_integer():
        assert f"write {int(value)}" in msg and "whole number" in msg, msg


def test_integers_and_float_fields_pass():
    assert both(RUN, "mcli-run.json") == (True, True)
    run = copy.deepcopy(RUN)
    run["scheduling"]["max_duration"] = 24  # a number field takes an int ...
    assert both(run, "mcli-run.json") == (True, True)
    run["scheduling"]["max_duration"] = 1.0  # ... and an integral float
    assert both(run, "mcli-run.json") == (True, True)


@pytest.mark.parametrize("release", ["1.13", "2.0"])
def test_nemo_integer_keys_refuse_decimals_and_float_keys_take_them(release):
    name = sch.nemo_schema_name(release)
    cfg = nemo_default(release)
    assert both(cfg, name) == (True, True)
    ok = copy.deepcopy(cfg)
    ok["model"]["optim"]["lr"] = 1.0
    ok["model"]["hidden_dropout"] = 0.0
    ok["trainer"]["gradient_clip_val"] = 2
    assert both(ok, name) == (True, True)
    for section, key in (("model", "micro_batch_size"), ("model", "global_batch_size"), ("trainer", "max_steps")):
        bad = copy.deepcopy(cfg)
        bad[section][key] = float(bad[section][key])
        assert both(bad, name) == (False, False), key
        [(path, msg)] = sch.validate(bad, name, ("parameters",))
        assert path == ("parameters", section, key) and f"write {int(bad[section][key])}" in msg


@pytest.mark.parametrize(
    "schema, instance, valid",
    [
        ({"type": ["integer", "null"]}, 8.0, False),
        ({"type": ["integer", "null"]}, None, True),
        ({"type": ["integer", "number"]}, 8.0, True),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, 8.0, False),
        ({"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0.5}]}, 8.0, True),
        ({"not": {"type": "integer"}}, 8.0, True),  # 8.0 is not an integer here, so `not` holds
        ({"type": "array", "items": {"type": "integer"}}, [1, 2.0], False),
        ({"type": "boolean"}, 1.0, False),
    ],
)
def test_fast_and_wording_validators_agree(schema, instance, valid, monkeypatch):
    monkeypatch.setattr(sch, "load", lambda _name: schema)
    for fn in (sch.validator, sch.fast_validator):
        fn.cache_clear()
    try:
        assert both(instance, "x.json") == (valid, valid)
    finally:
        for fn in (sch.validator, sch.fast_validator):
            fn.cache_clear()


def test_agreement_on_runs_with_random_decimals():
    """Random integer values of a NeMo default config rewritten as x.0: both validators agree on each."""
    name = sch.nemo_schema_name("1.13")
    cfg = nemo_default("1.13")
    ints = []

    def walk(node, path):
        for k, v in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(v, (dict, list)):
                walk(v, path + (k,))
            elif isinstance(v, int) and not isinstance(v, bool):
                ints.append(path + (k,))

    walk(cfg, ())
    assert len(ints) > 20
    rng = random.Random(11)
    refused = 0
    for _ in range(60):
        doc = copy.deepcopy(cfg)
        for path in rng.sample(ints, rng.randint(1, 3)):
            node = doc
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = float(node[path[-1]])
        fast, slow = both(doc, name)
        assert fast == slow, doc
        refused += not fast
    assert refused > 30  # most integer settings are integer-typed: the rewrite is refused
