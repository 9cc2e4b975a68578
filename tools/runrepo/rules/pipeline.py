"""The ids a pipeline stage raises itself, before any rule runs: the gate, composition, resolution, the
policy file, import, submit, and a rule that crashed. Registered here so that `runrepo rules ID` explains
every id a finding can carry (tests/rules/test_rule_ids.py finds them in the code and checks this list).
"""

from __future__ import annotations

from ..compose.gate import MAX_DEPTH, MAX_LAYER_BYTES, MAX_NODES
from .registry import raised

_RUN = "# @package _global_\ndefaults:\n  - /nemo: v2_4\n  - /base\n  - /cluster: r7z2\n"

# --- the gate (compose/gate.py): what a layer file may be before YAML or Hydra reads it
raised("layer-missing", "gate", "every defaults entry names a layer that exists under runs/ (a wrong option "
       "gets the group's valid options and the closest one)",
       example=_RUN + "  - /node: single_node\n  - /model: gpt3_125m  #<\n  - _self_",
       fix=_RUN + "  - /node: single_node\n  - /model: gpt3_126m\n  - _self_")
raised("layer-escape", "gate", "config names stay inside runs/: no `..`, no absolute path, no symlink",
       example="defaults:\n  - /../secrets/creds  #<", fix="defaults:\n  - /cluster: r7z2")
raised("layer-size", "gate", f"a layer is at most {MAX_LAYER_BYTES:,} bytes")
raised("layer-encoding", "gate", "a layer is UTF-8 text without NUL bytes")
raised("layer-empty", "gate", "a layer is not empty (it needs at least `# @package _global_` and one key)",
       example="# @package _global_  #<", fix="# @package _global_\nname: my-run")
raised("layer-not-mapping", "gate", "a layer is a mapping of settings, not a list or a single value",
       example="# @package _global_  #<\n- name: my-run", fix="# @package _global_\nname: my-run")
raised("yaml-syntax", "gate", "the file is valid YAML (tabs cannot indent; control characters are refused)",
       example="parameters:\n  model:\n\tmicro_batch_size: 4  #<", fix="parameters:\n  model:\n    micro_batch_size: 4")
raised("yaml-depth", "gate", f"nesting is at most {MAX_DEPTH} levels deep")
raised("yaml-size", "gate", f"a layer has at most {MAX_NODES:,} YAML nodes")
raised("yaml-key", "gate", "mapping keys are plain strings without control characters",
       example="parameters:\n  ? [a, b]  #<\n  : 1", fix="parameters:\n  a: 1")
raised("yaml-duplicate-key", "gate", "no key appears twice in one mapping (YAML would silently keep the last)",
       example="parameters:\n  model:\n    micro_batch_size: 4\n    micro_batch_size: 2  #<",
       fix="parameters:\n  model:\n    micro_batch_size: 2")
raised("yaml-alias", "gate", "no YAML anchors, aliases or merge keys (`&a`, `*a`, `<<`): they can expand into "
       "alias bombs", example="a: &x [1, 2]\nb: *x  #<", fix="a: [1, 2]\nb: [1, 2]")
raised("yaml-number", "gate", "numbers are finite: no NaN or infinity (`.nan`, `.inf`, `1e309`), which NeMo cannot "
       "train with and JSON cannot carry", example="parameters:\n  model:\n    optim:\n      lr: .nan  #<",
       fix="parameters:\n  model:\n    optim:\n      lr: 6.0e-4")
raised("yaml-tag", "gate", "only plain YAML types: no `!!python/...` or other explicit tags",
       example="name: !!python/object:os.system x  #<", fix="name: x")

# --- composition (compose/engine.py): the defaults list, as Hydra 1.3 reads it
raised("defaults-form", "compose", "a defaults entry is `_self_`, `/config` or `/group: option` (no override, "
       "optional or @package forms)", example="defaults:\n  - override /cluster: r7z2  #<",
       fix="defaults:\n  - /cluster: r7z2")
raised("defaults-self", "compose", "a defaults list includes `_self_` (without it Hydra warns and guesses where "
       "the file's own values go)", example=_RUN.replace("defaults:", "defaults:  #<") + "  - /node: single_node",
       fix=_RUN + "  - /node: single_node\n  - _self_")
raised("defaults-loop", "compose", "layers do not include each other in a loop")
raised("defaults-twice", "compose", "a layer, or a group's option, is chosen once in a defaults list",
       example=_RUN + "  - /cluster: r9z1  #<\n  - _self_", fix=_RUN + "  - _self_")
raised("layer-package", "compose", "every layer starts with `# @package _global_` (else Hydra nests its keys "
       "under the folder name)", example="# a run file without its header  #<\nparameters:\n  model:\n    micro_batch_size: 4",
       fix="# @package _global_\nparameters:\n  model:\n    micro_batch_size: 4")
raised("merge-type", "compose", "a key is a mapping in every layer or a list in every layer (Hydra cannot merge "
       "one into the other)",
       example="defaults:\n  - /node: multi_node\nintegrations:  # a list in the node profile #<\n  apt_packages: [parallel]",
       fix="defaults:\n  - /node: multi_node\nintegrations:\n  - integration_type: apt_packages\n    packages: [parallel]")

# --- resolution (compose/resolve.py)
raised("interpolation", "resolve", "every `${...}` resolves: inside `parameters` against `parameters` itself, as "
       "NeMo resolves it", example="parameters:\n  model:\n    data:\n"
                                   "      seq_length: ${parameters.model.x}  #<",
       fix="parameters:\n  model:\n    data:\n      seq_length: ${model.encoder_seq_length}")
raised("interpolation-resolver", "resolve", "only NeMo's resolvers (multiply, sum, divide_ceil, divide_floor): "
       "nothing that reads the environment, files or runs code", example="env_variables:\n"
                                                                         "  TOKEN: ${oc.env:TOKEN}  #<",
       fix="env_variables:\n  TOKEN_FILE: /secrets/token   # mounted by the platform")
raised("dataset-ref", "resolve", "a `data: NAME` entry of data_prefix names a data run (runs/data/NAME.yaml) "
       "that composes and writes a dataset", example="parameters:\n  model:\n    data:\n"
                                                   "      data_prefix: [1.0, data: wiki_gpt3]  #<",
       fix="parameters:\n  model:\n    data:\n      data_prefix: [1.0, data: wiki_gpt2]")
raised("section-type", "resolve", "compute, parameters, scheduling, env_variables and metadata are mappings; "
       "integrations is a list", example="scheduling: 24  #<", fix="scheduling:\n  max_duration: 24")

# --- check (check.py): files under runs/experiments/
raised("run-file-name", "check", "every file under runs/experiments/ is a `.yaml` run file (an `x.yml` would never be "
       "checked or submitted)")

# --- elsewhere
raised("policy-file", "policy", "runs/policy.yaml is a readable mapping of known limits (see README: Policy)")
raised("import-form", "import", "`runrepo import` reads an mcli run YAML: a mapping of fields")
raised("policy-pr-gpu-hours", "plan", "the runs one pull request submits stay within policy max_gpu_hours_per_pr "
       "(plan checks the pull request; submit, each merge of its range)")
raised("platform", "submit", "`submit --base auto` reaches the platform to learn where the last submission got to "
       "(else it needs --fallback-base)")
raised("internal", "rules", "a rule crashed on this run: the other rules still ran; please report it with the "
       "run file")
