"""Corpus: what the gate refuses in one file (YAML, encoding, size, depth, aliases, tags, keys)."""

from __future__ import annotations

from cases_base import DATA, HEAD, MCLI, NAME, NEMO, RUN, Big, case, run

# --- YAML syntax ---------------------------------------------------------------------------
SYNTAX = {
    "unclosed-flow-list": ("compute:\n  node_names: [a, b\n", "node_names"),
    "unclosed-flow-map": ("compute: {nodes: 1\n", "compute"),
    "unclosed-double-quote": ('command: "echo hi\n', "command"),
    "unclosed-single-quote": ("command: 'echo hi\n", "command"),
    "stray-bracket": ("compute:\n  node_names: [a]]\n", "node_names"),
    "mapping-in-plain": ("command: echo a: b\n", "command"),
    "missing-colon": ("scheduling:\n  priority auto\n  preemptible: false\n", "preemptible"),
    "bad-indent": ("compute:\n    nodes: 1\n  cluster: r7z2\n", ("cluster: r7z2", 2)),
    "seq-then-map": ("integrations:\n- integration_type: apt_packages\n  packages: [parallel]\n - oops\n", "oops"),
    "bad-escape": ('command: "echo \\q"\n', "command"),
    "reserved-at": ("command: @echo\n", "command"),
    "reserved-backtick": ("command: `echo`\n", "command"),
    "directive-mid-file": ("compute:\n  nodes: 1\n%YAML 1.2\n", "parameters:"),  # libyaml: "expected <document start>"
    "second-document": ("---\nname: other\n", "---"),
    "document-end-then-data": ("...\nname2: x\n", "name2"),
    "empty-alias-name": ("compute:\n  nodes: *\n", "nodes"),
    "block-scalar-bad-indicator": ("command: |0\n  echo hi\n", "command"),
    "flow-missing-comma": ("compute: {nodes: 1 cluster: r7z2}\n", "compute"),
    "control-char": ("command: echo \x07 bell\n", "command"),
    "key-without-value-in-flow": ("compute: {nodes: 1, : 2,}\n", None),
}
for cid, (top, needle) in SYNTAX.items():
    case(f"syntax-{cid}", "yaml-syntax", run(top=top), "yaml-syntax", line=needle or "compute")
case(
    "syntax-in-shared-layer",
    "yaml-syntax",
    {"runs/cluster/r7z2.yaml": "# @package _global_\ncompute: [r7z2\n"},
    "yaml-syntax",
    file="runs/cluster/r7z2.yaml",
    line=2,
)  # where the `[` opened
case(
    "syntax-in-defaults",
    "yaml-syntax",
    HEAD.replace("  - /base\n", "  - /base: [\n") + NAME + DATA,
    "yaml-syntax",
    line="/cluster: r7z2",
)  # `- ` cannot start a node inside the `[`

# --- tabs ----------------------------------------------------------------------------------
case("tab-top-level", "tabs", run(top="compute:\n\tnodes: 1\n"), "yaml-syntax", line="\tnodes")
case("tab-nested", "tabs", run(params="  trainer:\n  \tmax_steps: 10\n"), "yaml-syntax", line="max_steps")
case(
    "tab-list-item",
    "tabs",
    run(top="integrations:\n\t- integration_type: apt_packages\n"),
    "yaml-syntax",
    line="\t- integration_type",
)
case("tab-defaults", "tabs", HEAD.replace("  - /base\n", "\t- /base\n") + NAME + DATA, "yaml-syntax", line="/base")
case("tab-after-key", "tabs", run(top="compute:\n  nodes: 1\n\tcluster: r7z2\n"), "yaml-syntax", line="\tcluster")
case(
    "tab-shared-layer",
    "tabs",
    {"runs/node/single_node.yaml": "# @package _global_\ncompute:\n\tnodes: 1\n"},
    "yaml-syntax",
    file="runs/node/single_node.yaml",
    line=3,
)

# --- duplicate keys at every level ---------------------------------------------------------
DUPES = {  # (top, params, the text on the duplicate's line, which occurrence)
    "top-name": (NAME, "", "name: bad-run", 2),
    "top-compute": ("compute:\n  nodes: 1\ncompute:\n  cluster: r7z2\n", "", "compute:", 2),
    "compute-nodes": ("compute:\n  nodes: 1\n  nodes: 2\n", "", "nodes: 2", 1),
    "scheduling-max-duration": ("scheduling:\n  max_duration: 1\n  max_duration: 2\n", "", "max_duration: 2", 1),
    "env-variable": ("env_variables:\n  A: '1'\n  A: '2'\n", "", "A: '2'", 1),
    "metadata": ("metadata:\n  team: a\n  team: b\n", "", "team: b", 1),
    "runrepo-section": ("runrepo:\n  rerun: 1\n  rerun: 2\n", "", "rerun: 2", 1),
    "parameters": ("", "parameters:\n  trainer: {}\n", "parameters:", 2),
    "trainer": ("", "  trainer:\n    max_steps: 1\n  trainer:\n    max_steps: 2\n", "trainer:", 2),
    "trainer-max-steps": ("", "  trainer:\n    max_steps: 1\n    max_steps: 2\n", "max_steps: 2", 1),
    "deep-checkpoint-param": (
        "",
        "  exp_manager:\n    checkpoint_callback_params:\n      save_top_k: 1\n      save_top_k: 2\n",
        "save_top_k: 2",
        1,
    ),
    "flow-mapping": ("compute: {nodes: 1, nodes: 2}\n", "", "compute: {", 1),
    "list-item-mapping": (
        "integrations:\n  - integration_type: apt_packages\n    integration_type: pip_packages\n",
        "",
        "integration_type: pip",
        1,
    ),
    "quoted-vs-plain": ('"name": other\n', "", '"name"', 1),
    "defaults": ("defaults: []\n", "", "defaults: []", 1),
}
for cid, (top, params, needle, nth) in DUPES.items():
    case(f"dup-{cid}", "duplicate-keys", run(top=top, params=params), "yaml-duplicate-key", line=(needle, nth))
case(
    "dup-in-base",
    "duplicate-keys",
    {"runs/base.yaml": "# @package _global_\nscheduling:\n  priority: auto\n  priority: low\n"},
    "yaml-duplicate-key",
    file="runs/base.yaml",
    line=4,
)

# --- wrong types: sections (always), fields (the generated schemas) ------------------------
SECTIONS = {
    "compute-list": "compute: [1, 2]\n",
    "compute-scalar": "compute: 8\n",
    "compute-null": "compute: null\n",
    "scheduling-list": "scheduling: [auto]\n",
    "env-retired-list": "env_variables:\n  - key: A\n    value: '1'\n",
    "env-scalar": "env_variables: A=1\n",
    "integrations-mapping": "integrations:\n  integration_type: apt_packages\n",
    "metadata-list": "metadata: [a, b]\n",
    "runrepo-scalar": "runrepo: fast\n",
}
for cid, top in SECTIONS.items():
    # a list where the layers below have a mapping: OmegaConf itself refuses to merge them
    rule_id = "merge-type" if cid.endswith("list") and not cid.startswith("metadata") else "section-type"
    case(f"section-{cid}", "wrong-types", run(top=top), rule_id, line=top.split(":")[0] + ":")
FIELD_TYPES = {
    "preemptible-string": ("scheduling:\n  preemptible: 'maybe'\n", "preemptible"),
    "priority-enum": ("scheduling:\n  priority: urgent\n", "priority"),
    "max-retries-negative": ("scheduling:\n  max_retries: -1\n", "max_retries"),
    "max-duration-string": ("scheduling:\n  max_duration: long\n", "max_duration"),
    "gpu-type-int": ("compute:\n  gpu_type: 80\n", "gpu_type"),
    "env-value-int": ("env_variables:\n  RETRIES: 3\n", "RETRIES"),
    "command-int": ("command: 42\n", "command"),
    "apt-packages-string": (
        "integrations:\n  - integration_type: apt_packages\n    packages: parallel\n",
        "packages: parallel",
    ),
    "integration-item-scalar": ("integrations:\n  - 3\n", "- 3"),
    "integration-type-unknown": ("integrations:\n  - integration_type: docker_secret\n", "integration_type"),  # +policy
}
for cid, (top, needle) in FIELD_TYPES.items():
    also = ("policy-integration",) if cid == "integration-type-unknown" else ()  # policy allows no unknown type either
    also += ("policy-max-duration",) if cid == "max-duration-string" else ()  # policy fails closed on it too
    case(f"type-{cid}", "wrong-types", run(top=top), "mcli-schema", line=needle, needs=MCLI, also=also)
NEMO_TYPES = {
    "max-steps-string": ("  trainer:\n    max_steps: many\n", "max_steps"),
    "resume-string": ("  exp_manager:\n    resume_if_exists: sometimes\n", "resume_if_exists"),
    "enable-checkpointing-string": ("  trainer:\n    enable_checkpointing: 'no'\n", "enable_checkpointing"),
}
for cid, (params, needle) in NEMO_TYPES.items():
    case(f"type-nemo-{cid}", "wrong-types", run(params=params), "nemo-schema", line=needle, needs=NEMO)

# --- unknown keys at every level -----------------------------------------------------------
UNKNOWN = {  # (top, model, params, rule, text on the line)
    "top-level": ("colour: blue\n", "", "", "mcli-schema", "colour"),
    "top-retired-gpu-num": ("gpu_num: 8\n", "", "", "mcli-schema", "gpu_num"),
    "top-retired-run-name": ("run_name: x\n", "", "", "mcli-schema", "run_name"),
    "compute-typo": ("compute:\n  gpu_typ: a100_80gb\n", "", "", "mcli-schema", "gpu_typ"),
    "compute-unknown": ("compute:\n  zone: us-east\n", "", "", "mcli-schema", "zone"),
    "scheduling-typo": ("scheduling:\n  priorty: low\n", "", "", "mcli-schema", "priorty"),
    "integration-field": (
        "integrations:\n  - integration_type: apt_packages\n    packages: [x]\n    packagez: [y]\n",
        "",
        "",
        "mcli-schema",
        "packagez",
    ),
    "trainer-typo": ("", "", "  trainer:\n    max_step: 10\n", "nemo-schema", "max_step"),
    "trainer-unknown": ("", "", "  trainer:\n    turbo: true\n", "nemo-schema", "turbo"),
    "exp-manager-typo": ("", "", "  exp_manager:\n    resume_if_exist: true\n", "nemo-schema", "resume_if_exist"),
    "model-typo": ("", "    micro_batch_sizee: 4\n", "", "nemo-unknown-key", "micro_batch_sizee"),
    "model-nested-typo": ("", "    tokenizer:\n      vocab_fil: /x\n", "", "nemo-unknown-key", "vocab_fil"),
}
for cid, (top, model, params, rule_id, needle) in UNKNOWN.items():
    case(
        f"unknown-{cid}",
        "unknown-keys",
        run(top=top, model=model, params=params),
        rule_id,
        line=needle,
        needs=MCLI if rule_id == "mcli-schema" else NEMO,
        extra={"did_you_mean": cid.endswith("typo")},
    )


# --- empty files, lists and scalars --------------------------------------------------------
for cid, text in {
    "zero-bytes": "",
    "comments-only": "# @package _global_\n# nothing\n",
    "document-marker": "---\n",
    "whitespace": "   \n\n  \n",
    "null-document": "# @package _global_\n~\n",
    "bom-only": "\ufeff",
}.items():
    case(f"empty-{cid}", "empty", text, "layer-empty", line=1)
case(
    "empty-shared-layer", "empty", {"runs/cluster/r7z2.yaml": ""}, "layer-empty", file="runs/cluster/r7z2.yaml", line=1
)
for cid, text in {
    "block-list": "# @package _global_\n- a\n- b\n",
    "flow-list": "[1, 2]\n",
    "int": "42\n",
    "string": "just a sentence\n",
    "bool": "true\n",
    "quoted": '"name: x"\n',
}.items():
    case(f"not-mapping-{cid}", "list-or-scalar", text, "layer-not-mapping", line=1)
case(
    "not-mapping-shared",
    "list-or-scalar",
    {"runs/base.yaml": "# @package _global_\n- a\n"},
    "layer-not-mapping",
    file="runs/base.yaml",
    line=1,
)

# --- encoding ------------------------------------------------------------------------------
ENCODING = {
    "latin1-comment": (run().encode() + b"# caf\xe9\n", "end"),
    "latin1-value": (run(top="command: caf\xe9\n").encode("latin-1"), "command"),
    "utf16": (run().encode("utf-16"), 1),
    "overlong": (run().encode() + b"x: \xc0\xaf\n", "end"),
    "surrogate": (run().encode() + b"x: \xed\xa0\x80\n", "end"),
    "truncated": (run().encode() + b"x: \xe2\x82\n", "end"),
    "nul-byte": (run().encode() + b"x: a\x00b\n", "end"),
    "bom-inside": (run().encode() + "x: \ufeffb\n".encode(), "end"),  # libyaml drops it, OmegaConf keeps it
}
for cid, (raw, where) in ENCODING.items():
    line = raw.count(b"\n") if where == "end" else where
    if where == "command":
        line = run(top="command: x\n").splitlines().index("command: x") + 1
    case(f"encoding-{cid}", "encoding", {RUN: raw}, "layer-encoding", line=line)
case(
    "encoding-shared",
    "encoding",
    {"runs/base.yaml": b"# @package _global_\nenv_variables:\n  A: '\xff'\n"},
    "layer-encoding",
    file="runs/base.yaml",
    line=3,
)

# --- size, depth, node count ---------------------------------------------------------------
case("size-20mb", "size", {RUN: Big(20 << 20)}, "layer-size", line=1, extra={"bounded": True})
case("size-1mib-plus-1", "size", {RUN: Big((1 << 20) + 1)}, "layer-size", line=1)
case(
    "size-20mb-shared",
    "size",
    {"runs/model/gpt3_126m.yaml": Big(20 << 20)},
    "layer-size",
    file="runs/model/gpt3_126m.yaml",
    line=1,
)
case(
    "nodes-long-list",
    "size",
    {RUN: Big(900_000, "# @package _global_\nk:\n", "- 1\n")},
    "yaml-size",
    line=50000,
    extra={"bounded": True},
)
case(
    "nodes-many-keys",
    "size",
    {RUN: "# @package _global_\n" + "".join(f"k{i}: {i}\n" for i in range(30000))},
    "yaml-size",
    line=25001,
)
DEEP_BLOCK = "# @package _global_\n" + "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n"
case("depth-block-40", "depth", DEEP_BLOCK, "yaml-depth", line="k32:")  # the key whose value is level 33
case("depth-flow-list-40", "depth", "# @package _global_\nk: " + "[" * 40 + "]" * 40 + "\n", "yaml-depth", line=2)
case(
    "depth-flow-10000",
    "depth",
    "# @package _global_\nk: " + "[" * 10000 + "]" * 10000 + "\n",
    "yaml-depth",
    line=2,
    extra={"bounded": True},
)
case(
    "depth-flow-map-5000",
    "depth",
    "# @package _global_\nk: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "yaml-depth",
    line=2,
)
case(
    "depth-in-parameters",
    "depth",
    run(params="  trainer:\n    x: " + "[" * 40 + "]" * 40 + "\n"),
    "yaml-depth",
    line="x: [[[",
)
case("depth-shared", "depth", {"runs/base.yaml": DEEP_BLOCK}, "yaml-depth", file="runs/base.yaml", line="k32:")

# --- aliases, bombs and merge keys ---------------------------------------------------------
LOL = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'


def bomb(levels: int) -> str:
    names = "abcdefghijklmnop"
    rows = [f"{names[i + 1]}: &{names[i + 1]} [{', '.join(['*' + names[i]] * 9)}]\n" for i in range(levels)]
    return "# @package _global_\n" + LOL + "".join(rows)


case("bomb-billion-laughs-9", "alias-bomb", bomb(9), "yaml-alias", line=3, extra={"bounded": True})
case("bomb-6-levels", "alias-bomb", bomb(6), "yaml-alias", line=3, extra={"bounded": True})
case(
    "bomb-in-parameters",
    "alias-bomb",
    run(params="  trainer: &t {max_steps: 1}\n  again: *t\n"),
    "yaml-alias",
    line="again",
)
case("alias-scalar", "alias-bomb", run(top="compute:\n  nodes: &n 1\n  gpus: *n\n"), "yaml-alias", line="gpus")
case("alias-undefined", "alias-bomb", run(top="compute:\n  nodes: *nowhere\n"), "yaml-alias", line="nodes")
case("alias-recursive", "alias-bomb", run(top="metadata: &m\n  self: *m\n"), "yaml-alias", line="self: *m")
case("alias-as-key", "alias-bomb", run(top="metadata:\n  &k key: 1\n  *k : 2\n"), "yaml-alias", line="*k")
case(
    "alias-in-defaults",
    "alias-bomb",
    HEAD.replace("  - /base\n", "  - &b /base\n  - *b\n") + NAME + DATA,
    "yaml-alias",
    line="*b",
)
case("alias-shared", "alias-bomb", {"runs/base.yaml": bomb(7)}, "yaml-alias", file="runs/base.yaml", line=3)
case("merge-key-alias", "merge-keys", run(top="x: &base {nodes: 1}\ncompute:\n  <<: *base\n"), "yaml-alias", line="<<")
case("merge-key-inline", "merge-keys", run(top="compute:\n  <<: {nodes: 1}\n"), "yaml-alias", line="<<")
case(
    "merge-key-list", "merge-keys", run(top="compute:\n  <<: [{nodes: 1}, {cluster: r7z2}]\n"), "yaml-alias", line="<<"
)
case(
    "merge-key-shared",
    "merge-keys",
    {"runs/base.yaml": "# @package _global_\nscheduling:\n  <<: {priority: low}\n"},
    "yaml-alias",
    file="runs/base.yaml",
    line=3,
)
case("merge-key-top", "merge-keys", run(top="<<: {command: x}\n"), "yaml-alias", line="<<")

# --- YAML tags and keys --------------------------------------------------------------------
TAGS = {
    "python-object": "command: !!python/object/apply:os.system ['id']\n",
    "python-name": "command: !!python/name:os.system\n",
    "binary": "command: !!binary aGVsbG8=\n",
    "set": "metadata: !!set {a, b}\n",
    "omap": "metadata: !!omap [a: 1]\n",
    "timestamp": "metadata:\n  when: !!timestamp 2024-01-01\n",
    "custom-local": "command: !shell echo\n",
    "bad-int": "compute:\n  nodes: !!int two\n",
    "verbatim-python": "command: !<tag:yaml.org,2002:python/none> ''\n",
}
for cid, top in TAGS.items():
    case(f"tag-{cid}", "yaml-tags", run(top=top), "yaml-tag", line=top.splitlines()[-1].strip().split(":")[0] + ":")
KEYS = {
    "int-key": "metadata:\n  1: one\n",
    "null-key": "metadata:\n  null: x\n",
    "bool-key": "metadata:\n  yes: x\n",
    "float-key": "metadata:\n  1.5: x\n",
    "complex-key": "metadata:\n  ? [a, b]\n  : x\n",
    "flow-map-key": "metadata:\n  {a: 1}: x\n",
    "newline-in-key": 'metadata:\n  "a\\nb": x\n',  # found by the fuzzer: broke one-line findings
    "cr-in-key": 'metadata:\n  "\\r": x\n',
}
for cid, top in KEYS.items():
    case(f"key-{cid}", "yaml-keys", run(top=top), "yaml-key", line=top.splitlines()[1].strip()[:3])
