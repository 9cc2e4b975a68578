"""Corpus: literal credentials, runs/policy.yaml, and valid look-alikes."""

from __future__ import annotations

from cases_base import NAME, PREFIX, RUN, Big, Link, case, run
from cases_compose import replace_entry

# --- literal credentials -------------------------------------------------------------------
# Made-up values in each credential's format (never real ones); built by concatenation so that
# secret scanners do not flag this file itself.
FAKE = {
    "aws-key-id": "AKIA" + "Q7ZL3XMRD4TPW2NB",
    "github-classic": "ghp" + "_" + "x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1Lc5Zs0Ga8Ue2",
    "github-fine-grained": "github" + "_pat_" + "11AB2CD3E0x8Kd2mQp7Rt4_Vw9Yb3Nf6Hj1Lc5Zs0Ga8",
    "slack": "xox" + "b-1234567890-0987654321-x8Kd2mQp7Rt4Vw9Y",
    "openai": "sk-" + "proj-x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1Lc5Zs0",
    "huggingface": "hf" + "_x8KdmQpRtVwYbNfHjLcZsGaUeQwErTyUi",
    "ngc": "nvapi" + "-x8Kd2mQp7Rt4Vw9Yb3Nf6Hj1Lc5Zs0Ga8",
    "databricks": "dapi" + "0123456789abcdef0123456789abcdef",
    "pem": "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "url-password": "https://alice:" + "hunter2x@github.com/org/repo.git",
}
WHERE = {  # how a value gets into the run: (top text with {v}, text on the line)
    "env": ("env_variables:\n  TOKEN_FOR_TOOL: '{v}'\n", "TOKEN_FOR_TOOL"),
    "command": ("command: |-\n  export X='{v}' && python train.py\n", "command"),
    "metadata": ("metadata:\n  owner_note: '{v}'\n", "owner_note"),
}
for kind, value in FAKE.items():
    for where, (tmpl, needle) in WHERE.items():
        if kind == "pem" and where != "command":
            continue
        if kind == "pem":
            tmpl = "command: |-\n  cat > key <<'EOF'\n  {v}\n  EOF\n"
        text = run(top=tmpl.replace("{v}", value.replace("\n", "\n  ")))
        case(f"secret-{kind}-in-{where}", "secrets", text, "secret-literal", line=needle)
case(
    "secret-hf-in-parameters",
    "secrets",
    run(params="  exp_manager:\n    wandb_logger_kwargs:\n      name: '" + FAKE["huggingface"] + "'\n"),
    "secret-literal",
    line="name: '",
)
case(
    "secret-in-integration-url",
    "secrets",
    run(top="integrations:\n  - integration_type: git_repo\n    git_repo: '" + FAKE["url-password"] + "'\n"),
    "secret-literal",
    line="git_repo: '",
)
WANDB_HEX = "0f3c9a7be21d48a6" + "95c7e0b4d13f2a8c6e9b7d10"
case(
    "secret-wandb-hex-env",
    "secrets",
    run(top=f"env_variables:\n  WANDB_API_KEY: {WANDB_HEX}\n"),
    "secret-literal",
    line="WANDB_API_KEY",
)
case(
    "secret-wandb-hex-command",
    "secrets",
    run(top=f"command: WANDB_API_KEY={WANDB_HEX} python train.py\n"),
    "secret-literal",
    line="command",
)
case(
    "secret-mosaicml-key-env",
    "secrets",
    run(top="env_variables:\n  MOSAICML_API_KEY: Zm9vYmFyYmF6cXV4\n"),
    "secret-literal",
    line="MOSAICML_API_KEY",
)
RANDOM = "Qm7Zt2Lx9Vb4Nc8Rp1Wd6Yh3Kf5Js0Ga"
for cid, (top, params, needle) in {
    "aws-secret-access-key": (f"env_variables:\n  AWS_SECRET_ACCESS_KEY: 'wJalrXUt/{RANDOM}+x'\n", "", "AWS_SECRET"),
    "password-env": (f"env_variables:\n  DB_PASSWORD: '{RANDOM}!'\n", "", "DB_PASSWORD"),
    "token-env": (f"env_variables:\n  GITHUB_TOKEN: {RANDOM}\n", "", "GITHUB_TOKEN"),
    "secret-in-params": ("", f"  exp_manager:\n    wandb_logger_kwargs:\n      api_key: {RANDOM}\n", "api_key"),
    "flag-in-command": (f"command: python train.py --api-key {RANDOM}\n", "", "command"),
    "export-in-command": (f"command: export HF_TOKEN={RANDOM}; python train.py\n", "", "command"),
    "camel-case-name": (f"metadata:\n  apiKey: {RANDOM}\n", "", "apiKey"),
}.items():
    case(f"secret-named-{cid}", "secrets", run(top=top, params=params), "secret-named", line=needle)

# --- policy (runs/policy.yaml) -------------------------------------------------------------
POLICY = "runs/policy.yaml"


def policy_with(old: str, new: str) -> dict:
    """Files that replace one line of the bundled policy (read at test time)."""
    return {POLICY: ("replace", old, new)}


R0Z0 = "# @package _global_\ncompute:\n  cluster: r0z0\n  gpu_type: a100_80gb\nrunrepo:\n  gpus_per_node: 8\n"
case(
    "policy-cluster-not-allowed",
    "policy",
    {"runs/cluster/r0z0.yaml": R0Z0, RUN: replace_entry("/cluster: r7z2", "/cluster: r0z0")},
    "policy-cluster",
    file="runs/cluster/r0z0.yaml",
    line="cluster: r0z0",
)
case(
    "policy-registry",
    "policy",
    {**policy_with("registries: [nvcr.io/nvidia/]", "registries: [registry.internal.example/]"), RUN: run()},
    "policy-registry",
    file="runs/nemo/v1_13.yaml",
    line="image:",
)
case(
    "policy-pin-digest",
    "policy",
    {**policy_with("pin: tag", "pin: digest"), RUN: run()},
    "policy-registry",
    file="runs/nemo/v1_13.yaml",
    line="image:",
)
case(
    "policy-tag-pattern",
    "policy",
    {**policy_with("tag_pattern: '^[0-9]{2}", "tag_pattern: '^24"), RUN: run()},
    "policy-registry",
    file="runs/nemo/v1_13.yaml",
    line="image:",
)
BIG = replace_entry("/node: single_node", "/node: multi_node")
case(
    "policy-gpus",
    "policy",
    BIG.replace(NAME, NAME + "compute:\n  nodes: 32\nscheduling:\n  max_duration: 12.0\n").replace(
        PREFIX, "    global_batch_size: 1024\n" + PREFIX
    )
    + "  trainer:\n    max_time: '00:11:30:00'\n",
    "policy-gpus",
    line="nodes: 32",
)
case(
    "policy-gpu-hours",
    "policy",
    BIG.replace(NAME, NAME + "compute:\n  nodes: 8\nscheduling:\n  max_duration: 72.0\n"),
    "policy-gpu-hours",
    line="nodes: 8",
)
case(
    "policy-gpu-hours-over-approval",
    "policy",
    {
        **policy_with(
            "approvals: []",
            "approvals:\n  - run: runs/experiments/bad.yaml\n    reason: budgeted in the Q3 plan\n"
            "    max_gpu_hours: 4000\n",
        ),
        RUN: BIG.replace(NAME, NAME + "compute:\n  nodes: 8\nscheduling:\n  max_duration: 72.0\n"),
    },
    "policy-gpu-hours",
    line="nodes: 8",
)
case(
    "policy-max-duration-null",
    "policy",
    run(top="scheduling:\n  max_duration: null\n"),
    "policy-max-duration",
    line="max_duration",
    also=("mcli-schema",),
)  # the schema refuses null too
case(
    "policy-max-duration-missing",
    "policy",
    {"runs/base.yaml": ("replace", "  max_duration: 24.0  # hours; the platform stops the run after this\n", "")},
    "policy-max-duration",
    file="runs/base.yaml",
    line="scheduling:",
)
case(
    "policy-max-duration-over",
    "policy",
    run(top="scheduling:\n  max_duration: 100.0\n"),
    "policy-max-duration",
    line="max_duration",
)
case(
    "policy-integration",
    "policy",
    run(top="integrations:\n  - integration_type: comet_ml\n    project_name: x\n"),
    "policy-integration",
    line="comet_ml",
)
POLICY_FILE = {  # a broken policy is one finding on its line, never a crash
    "syntax": ("clusters: [r1z1, r7z2, r9z1]", "clusters: [r1z1, r7z2", "clusters:"),
    "unknown-key": ("max_gpus_per_run: 128", "max_gpu_per_run: 128", "max_gpu_per_run"),
    "wrong-type": ("max_gpus_per_run: 128", "max_gpus_per_run: lots", "max_gpus_per_run"),
    "negative": ("max_gpu_hours_per_run: 3072", "max_gpu_hours_per_run: -1", "max_gpu_hours_per_run"),
    "duplicate": ("max_gpus_per_run: 128", "max_gpus_per_run: 128\nmax_gpus_per_run: 256", "max_gpus_per_run: 256"),
    "bad-regex": ("tag_pattern: '^[0-9]{2}\\.[0-9]{2}(\\.[0-9]+)?$'", "tag_pattern: '^[0-9'", "tag_pattern: '"),
    "bad-pin": ("pin: tag", "pin: branch", "pin:"),
    "approval-no-reason": (
        "approvals: []",
        "approvals:\n  - run: runs/experiments/x.yaml\n    max_gpus: 256",
        "- run:",
    ),
    "approval-no-limit": (
        "approvals: []",
        "approvals:\n  - run: runs/experiments/x.yaml\n    reason: because I said so",
        "- run:",
    ),
    "alias": ("clusters: [r1z1, r7z2, r9z1]", "clusters: &c [r1z1]\nintegrations_copy: *c", "*c"),
    "tab": ("max_gpus_per_run: 128", "limits:\n\tmax_gpus_per_run: 128", "\tmax_gpus"),
}
for cid, (old, new, needle) in POLICY_FILE.items():
    case(
        f"policy-file-{cid}",
        "policy-file",
        {**policy_with(old, new), RUN: run()},
        "policy-file",
        file=POLICY,
        line=needle,
    )
case("policy-file-list", "policy-file", {POLICY: "- clusters\n", RUN: run()}, "policy-file", file=POLICY, line=1)
case(
    "policy-file-not-utf8",
    "policy-file",
    {POLICY: b"clusters: [r\xe9]\n", RUN: run()},
    "policy-file",
    file=POLICY,
    line=1,
)
case(
    "policy-file-symlink-outside",
    "policy-file",
    {POLICY: Link("{outside}/secret.yaml"), RUN: run()},
    "policy-file",
    file=POLICY,
    line=None,
)
case(
    "policy-file-20mb",
    "policy-file",
    {POLICY: Big(20 << 20, "", "x: 1\n"), RUN: run()},
    "policy-file",
    file=POLICY,
    line=1,
)

# --- valid look-alikes: nothing may be reported (false-positive guards) --------------------
CLEAN = {
    "plain": run(),
    "sha256-metadata": run(
        top="metadata:\n  dataset_sha256: " + "ab" * 32 + "\n  cache_key: sha256:" + "cd" * 32 + "\n"
    ),
    "git-sha-metadata": run(top="metadata:\n  git_commit: 0f3c9a7be21d48a695c7e0b4d13f2a8c6e9b7d10\n"),
    "secret-reference-env": run(top="env_variables:\n  WANDB_PROJECT: nemo-gpt\n  HF_HOME: /mnt/hf\n"),
    "checkpoint-filename": run(
        params="  exp_manager:\n    checkpoint_callback_params:\n"
        "      filename: 'megatron_gpt--{val_loss:.2f}-{step}-{consumed_samples}'\n"
    ),
    "tokenizer-paths": run(model="    tokenizer:\n      vocab_file: /mnt/data/bpe/gpt2-vocab.json\n"),
    "escaped-interpolation": run(top="command: echo '\\${not_resolved}' && ${runrepo.launch}\n"),
    "anchor-without-alias": run(top="metadata: &m\n  team: nlp\n"),
    "utf8-bom": "\ufeff" + run(),
    "crlf": run().replace("\n", "\r\n"),
    "unicode-comment": run() + "# Ünïcödé comment ✓\n",
    "approved-big-run": None,  # filled below
}
for cid, text in CLEAN.items():
    if text is not None:
        case(f"valid-{cid}", "valid", text, None)
case(
    "valid-approved-big-run",
    "valid",
    {
        **policy_with(
            "approvals: []",
            "approvals:\n  - run: runs/experiments/bad.yaml\n    reason: budgeted in the Q3 plan\n"
            "    max_gpu_hours: 5000\n",
        ),
        RUN: BIG.replace(NAME, NAME + "compute:\n  nodes: 8\nscheduling:\n  max_duration: 72.0\n"),
    },
    None,
)

# runs/datasets.yaml (compose/datasets.py) is read through the gate too: one datasets-file finding on its line
DATASETS = "runs/datasets.yaml"
case("datasets-file-alias", "policy-file", {DATASETS: "version: 1\nexternal:\n  - &d {prefix: /a}\n  - *d\n", RUN: run()},
     "datasets-file", file=DATASETS, line=4)
case("datasets-file-list", "policy-file", {DATASETS: "- prefix: /a\n", RUN: run()}, "datasets-file", file=DATASETS,
     line=1)
case("datasets-file-bin-suffix", "policy-file",
     {DATASETS: "version: 1\nexternal:\n  - prefix: /mnt/data/pile/pile_00_text_document.bin\n", RUN: run()},
     "datasets-file", file=DATASETS, line=3)
# a data run's name is looked up among runs/data/, never opened as a path
case("dataset-ref-escape", "hydra-defaults",
     run(model="    data:\n      data_prefix: [1.0, data: ../../outside/secret]\n").replace(
         "    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]\n", "", 1),
     "dataset-ref", line="data: ../../outside/secret")
