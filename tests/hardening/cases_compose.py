"""Corpus: defaults lists, symlinks, interpolations, run names, metadata, sections, headers."""

from __future__ import annotations

from cases_base import DATA, HEAD, NAME, RUN, Link, case, run

# --- Hydra defaults: missing, loops, escapes -----------------------------------------------


def with_defaults(*entries: str, self_: bool = True) -> str:
    body = "".join(f"  - {e}\n" for e in entries) + ("  - _self_\n" if self_ else "")
    return "# @package _global_\ndefaults:\n" + body + NAME + DATA


STD = ["/nemo: v1_13", "/base", "/cluster: r7z2", "/node: single_node", "/model: gpt3_126m"]


def replace_entry(old: str, new: str) -> str:
    return with_defaults(*[new if e == old else e for e in STD])


DEFAULTS = {  # (defaults text, rule, text on the line)
    "missing-option": (replace_entry("/cluster: r7z2", "/cluster: r0z0"), "layer-missing", "r0z0"),
    "missing-config": (with_defaults(*STD, "/nothing_here"), "layer-missing", "nothing_here"),
    "missing-relative": (with_defaults(*STD, "sibling"), "layer-missing", "sibling"),
    "missing-group": (with_defaults(*STD, "/optimizer: adam"), "layer-missing", "optimizer"),
    "base-dot-yaml": (replace_entry("/base", "/base.yaml"), "layer-missing", "/base.yaml"),
    "loop-self": (with_defaults(*STD, "/experiments/bad"), "defaults-loop", "/experiments/bad"),
    "loop-self-relative": (with_defaults(*STD, "bad"), "defaults-loop", "- bad"),
    "escape-abs-passwd": (with_defaults("/../../etc/passwd", *STD), "layer-escape", "passwd"),
    "escape-relative": (with_defaults("../x", *STD), "layer-escape", "../x"),
    "escape-group-option": (replace_entry("/cluster: r7z2", "/cluster: ../../../etc/passwd"), "layer-escape", "passwd"),
    "escape-option-absolute": (replace_entry("/cluster: r7z2", "/cluster: /etc/passwd"), "layer-escape", "passwd"),
    "escape-double-slash": (with_defaults("//etc/passwd", *STD), "layer-escape", "//etc"),
    "escape-backslash": (with_defaults("'..\\\\..\\\\etc\\\\passwd'", *STD), "layer-escape", "etc"),
    "escape-dot": (with_defaults("/./base", *STD[2:], "/nemo: v1_13"), "layer-escape", "/./base"),
    "escape-nul": (with_defaults('"/nemo\\0"', *STD), "layer-escape", "nemo\\0"),
    "escape-newline": (with_defaults('"/ba\\nse"', *STD), "layer-escape", "ba\\n"),
    "escape-trailing-slash": (with_defaults("/cluster/", *STD), "layer-escape", "/cluster/"),
    "empty-entry": (with_defaults("''", *STD), "layer-escape", "''"),
    "slash-only": (with_defaults("/", *STD), "defaults-form", 3),
    "group-twice": (with_defaults(*STD, "/cluster: r1z1"), "defaults-twice", "r1z1"),
    "listed-twice": (with_defaults(*STD, "/base"), "defaults-twice", ("/base", 2)),
    "override": (with_defaults(*STD, "override /cluster: r1z1"), "defaults-form", "override"),
    "optional": (with_defaults(*STD, "optional /cluster: r1z1"), "defaults-form", "optional"),
    "package-override": (with_defaults(*STD, "/cluster@foo: r1z1"), "defaults-form", "@foo"),
    "int-entry": (with_defaults(*STD, "3"), "defaults-form", "- 3"),
    "list-entry": (with_defaults(*STD, "[a]"), "defaults-form", "[a]"),
    "two-key-entry": (with_defaults(*STD, "{a: b, c: d}"), "defaults-form", "{a: b"),
    "null-option": (with_defaults(*STD, "/cluster: null"), "defaults-form", "/cluster: null"),
    "int-option": (with_defaults(*STD, "/cluster: 7"), "defaults-form", "/cluster: 7"),
    "empty-group": (with_defaults(*STD, "'': ''"), "defaults-form", "'': ''"),  # found by the fuzzer: IndexError
}
for cid, (text, rule_id, needle) in DEFAULTS.items():
    case(f"defaults-{cid}", "hydra-defaults", text, rule_id, line=needle)
case(
    "defaults-mapping",
    "hydra-defaults",
    "# @package _global_\ndefaults:\n  base: x\n" + NAME + DATA,
    "defaults-form",
    line="defaults:",
)
case(
    "defaults-scalar",
    "hydra-defaults",
    "# @package _global_\ndefaults: /base\n" + NAME + DATA,
    "defaults-form",
    line="defaults:",
)
case(
    "defaults-loop-two-layers",
    "hydra-defaults",
    {
        RUN: with_defaults(*STD, "/extra/a"),
        "runs/extra/a.yaml": "# @package _global_\ndefaults:\n  - /extra/b\n  - _self_\n",
        "runs/extra/b.yaml": "# @package _global_\ndefaults:\n  - /extra/a\n  - _self_\n",
    },
    "defaults-loop",
    file="runs/extra/b.yaml",
    line="/extra/a",
)
case(
    "defaults-missing-in-shared",
    "hydra-defaults",
    {"runs/base.yaml": "# @package _global_\ndefaults:\n  - /gone\n  - _self_\n"},
    "layer-missing",
    file="runs/base.yaml",
    line="/gone",
)
case("self-missing", "self-missing", with_defaults(*STD, self_=False), "defaults-self", line="defaults:")
case(
    "self-missing-empty-list",
    "self-missing",
    "# @package _global_\ndefaults: []\n" + NAME + DATA,
    "defaults-self",
    line="defaults:",
)
case(
    "self-missing-shared",
    "self-missing",
    {"runs/node/single_node.yaml": "# @package _global_\ndefaults:\n  - /cluster: r7z2\ncompute:\n  nodes: 1\n"},
    "defaults-self",
    file="runs/node/single_node.yaml",
    line="defaults:",
)

# --- symlinks ------------------------------------------------------------------------------
LINKS = {  # files, rule, file of the finding, line
    "cluster-to-etc-passwd": (
        {"runs/cluster/evil.yaml": Link("/etc/passwd"), RUN: replace_entry("/cluster: r7z2", "/cluster: evil")},
        RUN,
        "evil",
    ),
    "cluster-outside-repo": (
        {
            "runs/cluster/evil.yaml": Link("{outside}/secret.yaml"),
            RUN: replace_entry("/cluster: r7z2", "/cluster: evil"),
        },
        RUN,
        "evil",
    ),
    "cluster-to-dev-zero": (
        {"runs/cluster/evil.yaml": Link("/dev/zero"), RUN: replace_entry("/cluster: r7z2", "/cluster: evil")},
        RUN,
        "evil",
    ),
    "cluster-dangling": (
        {"runs/cluster/evil.yaml": Link("nowhere.yaml"), RUN: replace_entry("/cluster: r7z2", "/cluster: evil")},
        RUN,
        "evil",
    ),
    "cluster-inside-runs": (
        {"runs/cluster/alias.yaml": Link("r7z2.yaml"), RUN: replace_entry("/cluster: r7z2", "/cluster: alias")},
        RUN,
        "alias",
    ),
    "group-dir-outside": (
        {"runs/evilgroup": Link("{outside}"), RUN: with_defaults(*STD, "/evilgroup: secret")},
        RUN,
        "evilgroup",
    ),
    "base-outside": ({"runs/base.yaml": Link("{outside}/secret.yaml")}, RUN, "/base"),
    "run-file-inside": ({RUN: Link("gpt3-126m-1node.yaml")}, RUN, None),
    "run-file-outside": ({RUN: Link("{outside}/secret.yaml")}, RUN, None),
    "run-file-to-etc": ({RUN: Link("/etc/hostname")}, RUN, None),
}
for cid, (files, file, needle) in LINKS.items():
    case(f"symlink-{cid}", "symlinks", files, "layer-escape", file=file, line=needle)

# --- interpolations ------------------------------------------------------------------------
INTERP = {  # (top, params, rule, text on the line)
    "missing-top-key": ("command: echo ${nope.missing}\n", "", "interpolation", "command"),
    "missing-in-parameters": ("", "  trainer:\n    max_steps: ${model.nope}\n", "interpolation", "max_steps"),
    "parameters-root": ("", "  trainer:\n    max_steps: ${compute.nodes}\n", "interpolation", "max_steps"),
    "relative-missing": ("", "  trainer:\n    max_steps: ${..nope}\n", "interpolation", "max_steps"),
    "recursive": ("", "  trainer:\n    max_steps: ${trainer.max_steps}\n", "interpolation", "max_steps"),
    "grammar-open": ("", "  trainer:\n    max_steps: ${\n", "interpolation", "max_steps"),
    "grammar-empty": ("command: echo ${}\n", "", "interpolation", "command"),
    "resolver-zero-division": ("", "  trainer:\n    max_steps: ${divide_ceil:2,0}\n", "interpolation", "max_steps"),
    "resolver-not-number": ("", "  trainer:\n    max_steps: ${multiply:2,x}\n", "interpolation", "max_steps"),
    "resolver-list-arg": ("", "  trainer:\n    max_steps: ${multiply:[1],2}\n", "interpolation", "max_steps"),
    "unknown-resolver": ("command: echo ${shout:hi}\n", "", "interpolation-resolver", "command"),
    "oc-env-env-variables": ("env_variables:\n  HOME_DIR: ${oc.env:HOME}\n", "", "interpolation-resolver", "HOME_DIR"),
    "oc-env-command": ("command: echo ${oc.env:AWS_SECRET_ACCESS_KEY}\n", "", "interpolation-resolver", "command"),
    "oc-env-parameters": ("", "  exp_manager:\n    name: ${oc.env:USER}\n", "interpolation-resolver", "name: ${"),
    "oc-env-metadata": ("metadata:\n  who: ${oc.env:USER}\n", "", "interpolation-resolver", "who"),
    "oc-env-name": ("", "", "interpolation-resolver", "name:"),
    "oc-env-default": ("env_variables:\n  K: ${oc.env:MOSAICML_API_KEY,none}\n", "", "interpolation-resolver", "K:"),
    "oc-env-nested": (
        "",
        "  trainer:\n    max_steps: ${multiply:${oc.env:STEPS},2}\n",
        "interpolation-resolver",
        "max_steps",
    ),
    "oc-env-in-quotes": ("command: \"echo '${oc.env:GITHUB_TOKEN}'\"\n", "", "interpolation-resolver", "command"),
    "oc-decode": ("", "  trainer:\n    max_steps: '${oc.decode:\"123\"}'\n", "interpolation-resolver", "max_steps"),
    "oc-create": ("metadata:\n  x: '${oc.create:{a: 1}}'\n", "", "interpolation-resolver", "x:"),
    "oc-select": ("command: echo ${oc.select:compute.nodes,1}\n", "", "interpolation-resolver", "command"),
    "oc-deprecated": ("command: echo ${oc.deprecated:compute.nodes}\n", "", "interpolation-resolver", "command"),
    "oc-dict-keys": ("metadata:\n  keys: ${oc.dict.keys:compute}\n", "", "interpolation-resolver", "keys"),
    "hydra-resolver": ("command: cd ${hydra:runtime.cwd}\n", "", "interpolation-resolver", "command"),
    "now-resolver": ("metadata:\n  at: ${now:%Y-%m-%d}\n", "", "interpolation-resolver", "at:"),
    "python-resolver": ("command: ${python:os.system}\n", "", "interpolation-resolver", "command"),
    "python-call-grammar": ("command: ${python:__import__('os').system('id')}\n", "", "interpolation", "command"),
    "eval-resolver": ("command: ${eval:'1+1'}\n", "", "interpolation-resolver", "command"),
    "env-resolver": ("command: echo ${env:HOME}\n", "", "interpolation-resolver", "command"),
}
for cid, (top, params, rule_id, needle) in INTERP.items():
    text = run(top=top, params=params, name="name: ${oc.env:USER}\n" if cid == "oc-env-name" else NAME)
    case(f"interp-{cid}", "interpolation", text, rule_id, line=needle)
case(
    "interp-in-base",
    "interpolation",
    {"runs/base.yaml": "# @package _global_\nenv_variables:\n  H: ${oc.env:HOME}\n"},
    "interpolation-resolver",
    file="runs/base.yaml",
    line=3,
)

# --- run names -----------------------------------------------------------------------------
NAMES = {
    "uppercase": "GPT3_126M",
    "underscore": "gpt3_126m",
    "dots": "gpt3.126m",
    "leading-dash": "-gpt3",
    "trailing-dash": "gpt3-",
    "spaces": "'gpt3 126m'",
    "unicode": "gpt3-ü",
    "slash": "team/gpt3",
    "colon": "'gpt3:126m'",
}
for cid, value in NAMES.items():
    case(f"name-{cid}", "run-names", run(name=f"name: {value}\n"), "run-name", line="name:")
case(
    "name-too-long",
    "run-names",
    run(name="name: " + "a" * 57 + "\n"),
    "run-name",
    line="name:",
    also=("mcli-schema",),
)  # the schema's maxLength says it too
case("name-empty", "run-names", run(name="name: ''\n"), "run-name", line="name:", also=("mcli-schema",))

# --- metadata limits -----------------------------------------------------------------------
case(
    "metadata-201-keys",
    "metadata",
    run(top="metadata:\n" + "".join(f"  k{i}: v\n" for i in range(201))),
    "mcli-schema",
    line="metadata:",
)
case(
    "metadata-key-201-chars",
    "metadata",
    run(top="metadata:\n  " + "k" * 201 + ": v\n"),
    "mcli-schema",
    line="metadata:",
)  # the schema's propertyNames error sits on the mapping
case(
    "metadata-value-100k",
    "metadata",
    run(top="metadata:\n  notes: " + "x" * 100_001 + "\n"),
    "metadata-size",
    line="notes",
)
case(
    "metadata-nested-value-100k",
    "metadata",
    run(top="metadata:\n  table:\n" + "".join(f"    r{i}: {'y' * 100}\n" for i in range(1000))),
    "metadata-size",
    line="table",
)
case(
    "metadata-199-keys",
    "metadata",
    run(top="metadata:\n" + "".join(f"  k{i}: v\n" for i in range(199))),
    "metadata-size",
    line="metadata:",
)

# --- parameters that is not a mapping ------------------------------------------------------
case("parameters-list", "parameters", HEAD + NAME + "parameters: [1, 2]\n", "merge-type", line="parameters:")
for cid, value in {
    "int": "3",
    "string": "trainer.max_steps=10",
    "null": "null",
    "env-string": "${oc.env:HOME}",
}.items():
    case(f"parameters-{cid}", "parameters", HEAD + NAME + f"parameters: {value}\n", "section-type", line="parameters:")
case(
    "parameters-list-in-layer",
    "parameters",
    {"runs/model/gpt3_126m.yaml": "# @package _global_\nparameters: []\n"},
    "merge-type",
    file="runs/model/gpt3_126m.yaml",
    line=2,
)  # OmegaConf: cannot merge DictConfig with ListConfig
case("merge-list-onto-mapping", "parameters", run(top="scheduling: []\n"), "merge-type", line="scheduling: []")
case(
    "merge-mapping-onto-list",
    "parameters",
    run(top="compute:\n  nodes: 2\nintegrations:\n  packages: [x]\n", head=HEAD.replace("single_node", "multi_node")),
    "merge-type",
    line="integrations:",
)

# --- `# @package` header -------------------------------------------------------------------
body = HEAD.split("\n", 1)[1] + NAME + DATA
for cid, text in {
    "missing": body,
    "group": "# @package _group_\n" + body,
    "named": "# @package foo.bar\n" + body,
    "after-content": body + "# @package _global_\n",
    "typo": "# @pakage _global_\n" + body,
}.items():
    case(f"package-{cid}", "package-header", text, "layer-package", line=1)
case(
    "package-missing-shared",
    "package-header",
    {"runs/cluster/r7z2.yaml": "compute:\n  cluster: r7z2\n"},
    "layer-package",
    file="runs/cluster/r7z2.yaml",
    line=1,
)
