"""Hypothesis strategies for the hardening fuzz tests: YAML-ish text, plain-scalar documents,
mutations of a valid run, edits of shared layers, and random trees of layers with defaults lists."""

from __future__ import annotations

import yaml
from corpus_util import ROOT
from hypothesis import strategies as st

HEADER = "# @package _global_\n"
VALID = (ROOT / "runs/experiments/gpt3-126m-1node.yaml").read_text()


TOKENS = [
    "name",
    "compute",
    "nodes",
    "gpus",
    "cluster",
    "defaults",
    "parameters",
    "trainer",
    "model",
    "runrepo",
    "scheduling",
    "max_duration",
    "env_variables",
    "metadata",
    "integrations",
    "integration_type",
    "command",
    "_self_",
    "/base",
    "/cluster: r7z2",
    "/node: single_node",
    "/model: gpt3_126m",
    "/nemo: v1_13",
    "/../etc/passwd",
    "../x",
    "<<",
    "&a",
    "*a",
    "!!python/object",
    "!!binary",
    "!custom",
    "${oc.env:HOME}",
    "${compute.nodes}",
    "${multiply:2,3}",
    "${",
    "}",
    "[",
    "]",
    "{",
    "}",
    '"',
    "'",
    "|",
    ">",
    "- ",
    "? ",
    ": ",
    "#",
    "\t",
    " ",
    "  ",
    "\n",
    "---",
    "...",
    "%YAML 1.1",
    "@package _global_",
    "null",
    "~",
    "1e5",
    "0x1F",
    "true",
    "yes",
    "-1",
    "1.5",
    "\\",
    "\x00",
    "\ufeff",
    "é",
    "\u2028",
    "AKIA" + "Q7ZL3XMRD4TPW2NB",
    "???",
]
LINES = st.lists(st.sampled_from(TOKENS), max_size=8).map("".join)
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(LINES, max_size=20).map("\n".join),
    st.lists(LINES, max_size=12).map(lambda ls: HEADER + "defaults:\n  - /base\n  - _self_\n" + "\n".join(ls)),
    st.tuples(st.integers(0, 40), LINES).map(lambda t: _insert_line(VALID, *t)),
)


def _insert_line(text: str, at: int, line: str) -> str:
    lines = text.splitlines()
    lines.insert(at % (len(lines) + 1), line)
    return "\n".join(lines) + "\n"


TRICKY = [
    "1e5",
    "1E-5",
    "1.0e+5",
    ".5",
    "5.",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1_0.5",
    "+1",
    "-0",
    ".inf",
    "-.Inf",
    ".nan",
    "NaN",
    "inf",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "False",
    "~",
    "null",
    "Null",
    "NULL",
    "2001-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "1:30",
    "190:20:30",
    "1:30.5",
    "0b101",
    "1,000",
    "0.1.2",
    "${a}",
    "???",
    "'quoted'",
    '"dq"',
    "",
    "=",
    "<<",
]
PLAIN = st.one_of(
    st.sampled_from(TRICKY),
    st.from_regex(r"[-+]?[0-9_.eE:]{1,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_.+-]{1,12}", fullmatch=True),
)
KEY = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
DOC = st.dictionaries(KEY, st.one_of(PLAIN, st.lists(PLAIN, max_size=3)), min_size=1, max_size=6).map(
    lambda d: "".join(
        f"{k}: {v}\n" if not isinstance(v, list) else f"{k}:\n" + "".join(f"  - {x}\n" for x in v) for k, v in d.items()
    )
)


def _paths(value, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    return out


def _composed_paths() -> list[tuple]:
    from runrepo.compose.engine import compose
    from runrepo.compose.layers import TreeSource

    data = compose(TreeSource(ROOT), "experiments/gpt3-126m-1node").data
    return [p for p in _paths(data) if p and p[0] != "defaults"]


PATHS = _composed_paths()
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "${oc.env:HOME}",
            "${compute.nodes}",
            "${runrepo.gpus_per_node}",
            "${multiply:${x},2}",
            "${divide_ceil:1,0}",
            "${model.num_layers}",
            "${sum:1,${.}}",
            "???",
            "${trainer}",
            "",
            "hf_" + "x8KdmQpRtVwYbNfHjLcZsGaUeQwErTyUi",
            "-----BEGIN " + "PRIVATE KEY-----",
            "a" * 300,
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
MUTATION = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PATHS), VALUES),
    st.tuples(st.just("typo"), st.sampled_from(PATHS), st.text(min_size=1, max_size=3)),
    st.tuples(
        st.just("defaults"),
        st.integers(0, 7),
        st.one_of(
            st.sampled_from(
                [
                    "_self_",
                    "/base",
                    "/cluster: r1z1",
                    "/node: multi_node",
                    "/nemo: v2_0",
                    "/model: gpt3_175b",
                    "/cluster: nope",
                    "/",
                    "x",
                    "/experiments/fuzz",
                ]
            ),
            VALUES,
        ),
    ),
)


def _nest(path: tuple, value) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


def apply_mutation(doc: dict, mutation) -> dict:
    kind, a, b = mutation
    if kind == "set":
        doc.update(_deep_merge(doc, _nest(a, b)))
    elif kind == "typo":
        doc.update(_deep_merge(doc, _nest(a[:-1] + (str(a[-1]) + b,), 1)))
    else:
        entries = list(doc.get("defaults") or [])
        entries.insert(a % (len(entries) + 1), b)
        doc["defaults"] = entries
    return doc


def _deep_merge(dst: dict, src: dict) -> dict:
    out = dict(dst)
    for k, v in src.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


EDIT = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 200), st.just("")),
    st.tuples(st.just("dup"), st.integers(0, 200), st.just("")),
    st.tuples(st.just("insert"), st.integers(0, 200), LINES),
)


def edit_lines(text: str, edits) -> str:
    lines = text.splitlines()
    for kind, at, line in edits:
        i = at % (len(lines) + 1)
        if kind == "drop" and i < len(lines):
            del lines[i]
        elif kind == "dup" and i < len(lines):
            lines.insert(i, lines[i])
        elif kind == "insert":
            lines.insert(i, line)
    return "\n".join(lines) + "\n"


NAMES = st.sampled_from(["g/a", "g/b", "g/c", "h/a", "top"])
ENTRY = st.one_of(
    st.just("_self_"),
    NAMES.map(lambda n: "/fuzzlayers/" + n),
    st.sampled_from(["a", "b", "../top", "/../../x", "/fuzzlayers/g", "/fuzzlayers/missing"]),
    st.tuples(
        st.sampled_from(["/fuzzlayers/g", "/fuzzlayers/h", "g", "/../g"]), st.sampled_from(["a", "b", "c", "zz"])
    ).map(lambda t: {t[0]: t[1]}),
)
LAYER = st.tuples(
    st.sampled_from([True, True, True, True, False]),  # has the `# @package _global_` header
    st.lists(ENTRY, max_size=4).map(lambda d: d + ["_self_"] if d and len(d) % 2 else d),
    st.dictionaries(st.sampled_from(["compute", "metadata", "name", "scheduling", "x"]), VALUES, max_size=2),
)


def layer_text(spec) -> str:
    header, defaults, body = spec
    doc = {"defaults": defaults, **body} if defaults else body
    return (HEADER if header else "") + (yaml.safe_dump(doc, sort_keys=False) if doc else "")
