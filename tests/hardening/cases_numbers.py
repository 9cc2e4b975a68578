"""Corpus: numbers the platform and NeMo refuse. An integer written as 8.0, NaN and infinities."""

from __future__ import annotations

from cases_base import MCLI, NAME, NEMO, PREFIX, case, run
from cases_compose import replace_entry

# --- integers written as decimals: JSON Schema's "integer" would accept 8.0, the platform does not
MULTI = replace_entry("/node: single_node", "/node: multi_node")
GPUS_512 = MULTI.replace(NAME, NAME + "compute:\n  nodes: 64\n  gpus: 512.0\n").replace(
    PREFIX, "    global_batch_size: 2048\n" + PREFIX
)
# the same file, judged by the schema (how to write it) and by policy (512 GPUs is over the limit)
case(
    "type-gpus-512-float",
    "wrong-types",
    GPUS_512,
    "mcli-schema",
    line="gpus: 512.0",
    needs=MCLI,
    also=("policy-gpus", "policy-gpu-hours"),
)
case(
    "policy-gpus-512-float",
    "policy",
    GPUS_512,
    "policy-gpus",
    line="gpus: 512.0",
    also=("mcli-schema", "policy-gpu-hours"),
)
case(
    "type-gpus-8-float", "wrong-types", run(top="compute:\n  gpus: 8.0\n"), "mcli-schema", line="gpus: 8.0", needs=MCLI
)
case(
    "type-nodes-2-float",
    "wrong-types",
    MULTI.replace(NAME, NAME + "compute:\n  nodes: 2.0\n"),
    "mcli-schema",
    line="nodes: 2.0",
    needs=MCLI,
    # derived from nodes: trainer.num_nodes (nemo-schema), the launch profile, and GPUs policy cannot count
    also=("nemo-schema", "launch-profile", "policy-gpus"),
)
NEMO_INTS = {
    "micro-batch-size": ("", "    micro_batch_size: 4.0\n", "micro_batch_size"),
    "max-steps": ("  trainer:\n    max_steps: 1000.0\n", "", "max_steps"),
    "num-layers": ("", "    num_layers: 12.0\n", "num_layers"),
}
for cid, (params, model, needle) in NEMO_INTS.items():
    case(
        f"type-nemo-{cid}-float", "wrong-types", run(params=params, model=model), "nemo-schema", line=needle, needs=NEMO
    )
# NeMo's float settings keep taking floats, integral or not, and integers
case(
    "valid-float-settings",
    "valid",
    run(
        model="    hidden_dropout: 0.0\n    optim:\n      lr: 1.0\n      weight_decay: 0\n      sched:\n        min_lr: 0\n",
        params="  trainer:\n    gradient_clip_val: 2\n",
    ),
    None,
)

# --- NaN and infinities: not JSON (the API refuses them), and NeMo would train on them ------------
NUMBERS = {  # (top, model, params, text on the line)
    "nan-lr": ("", "    optim:\n      lr: .nan\n", "", "lr: .nan"),
    "inf-lr-1e309": ("", "    optim:\n      lr: 1e309\n", "", "lr: 1e309"),
    "nan-gradient-clip": ("", "", "  trainer:\n    gradient_clip_val: .nan\n", "gradient_clip_val"),
    "nan-metadata": ("metadata:\n  team: .nan\n", "", "", "team: .nan"),
    "neg-inf-in-list": ("metadata:\n  weights: [0.5, -.inf]\n", "", "", "weights:"),
    "inf-in-block-list": ("metadata:\n  weights:\n    - 0.5\n    - .Inf\n", "", "", "- .Inf"),
    "inf-env": ("env_variables:\n  SCALE: +.INF\n", "", "", "SCALE"),
    "nan-max-duration": ("scheduling:\n  max_duration: .NaN\n", "", "", "max_duration"),
}
for cid, (top, model, params, needle) in NUMBERS.items():
    case(f"number-{cid}", "numbers", run(top=top, model=model, params=params), "yaml-number", line=needle)
case(
    "number-inf-in-shared-layer",
    "numbers",
    {"runs/cluster/r7z2.yaml": ("replace", "gpu_type: a100_80gb", "gpu_type: a100_80gb\nmetadata:\n  x: -.inf")},
    "yaml-number",
    file="runs/cluster/r7z2.yaml",
    line="x: -.inf",
)
case(
    "number-computed-inf",
    "numbers",
    run(params="  trainer:\n    gradient_clip_val: ${multiply:1e308,10}\n"),
    "interpolation",
    line="gradient_clip_val",
)
