"""schemas/mcli-run.json (an expanded mcli 0.8.3 run) and schemas/run-file.json (a run file as written).

Fields from mosaicml-cli 0.8.3: RunConfig (mcli/models/run_config.py), ComputeConfig and
SchedulingConfig (mcli/utils/utils_config.py). mcli 0.8 sends integrations to the platform
unchecked; their types and fields come from mcli's integration classes (mcli 0.3,
mcli/objects/integrations/) and the mcli integration docs (mlflow, required wandb fields).

    python -m scripts.gen_schemas.mcli [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import DRAFT, SCHEMAS, write

STR = {"type": "string"}
BOOL = {"type": "boolean"}
STRINGS = {"type": "array", "items": {"type": "string"}}

# mcli.utils.utils_string_functions.validate_image, as an ECMA-262 pattern (\w with re.A).
IMAGE = (
    r"^([a-z0-9.\-]+(:[0-9]+)?/)?[a-z0-9]([a-z0-9\-._]*[a-z0-9])?(/[a-z0-9]([a-z0-9\-._]*[a-z0-9])?)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_\-.]{0,127}|@[A-Za-z0-9_:]+)?$"
)


def d(text: str, schema: dict | None = None, **extra) -> dict:
    """A schema with its description first."""
    return {"description": text, **(schema or {}), **extra}


def retired(field: str, modern: str) -> dict:
    return d(
        f"Retired: use `{modern}`.",
        {"not": {}},
        **{"x-message": f"`{field}` is retired in mcli: use `{modern}`"},
    )


COMPUTE = {
    "cluster": d("Cluster to run on (`mcli get clusters`).", STR),
    "instance": d("Instance type within the cluster.", STR),
    "nodes": d("Number of nodes.", {"type": "integer", "minimum": 1}),
    "node_names": d("Names of the nodes to run on.", STRINGS),
    "gpu_type": d("GPU type, e.g. a100_80gb, h100_80gb.", STR),
    "gpus": d("Total number of GPUs of the run (all nodes).", {"type": "integer", "minimum": 0}),
    "cpus": d("Number of CPUs.", {"type": "integer", "minimum": 0}),
}
SCHEDULING = {
    "priority": d("Run priority: `auto` (default), `low` or `lowest`.", {"enum": ["auto", "low", "lowest"]}),
    "preemptible": d("Whether higher-priority runs may stop and requeue this run (default false).", BOOL),
    "retry_on_system_failure": d("Retry the run after a system failure (default false).", BOOL),
    "max_retries": d("Maximum number of retries (default 0).", {"type": "integer", "minimum": 0}),
    "max_duration": d(
        "Hours after which the platform stops the run.",
        {"type": "number", "exclusiveMinimum": 0},
        **{"x-message": "scheduling.max_duration is a number of hours greater than 0"},
    ),
    "resumable": d("Legacy field still in mcli's SchedulingConfig (marked there to be deprecated).", BOOL),
    "retryOnSystemFailure": d("camelCase form mcli still accepts; prefer `retry_on_system_failure`.", BOOL),
    "watchdogEnabled": d("Platform watchdog switch; mcli accepts it in `scheduling`.", BOOL),
}
INTEGRATIONS = {  # integration_type -> (description, {field: schema}, required fields)
    "git_repo": (
        "Clone a git repository into the run's working directory.",
        {
            "git_repo": d("Repository as `org/repo`.", STR),
            "git_branch": d("Branch to check out (default: the repository's default branch).", STR),
            "git_commit": d("Commit to check out.", STR),
            "path": d("Where to clone (default: the repository's name in the working directory).", STR),
            "ssh_clone": d("Clone over SSH (needs a git-ssh secret; true for private repositories).", BOOL),
            "pip_install": d("Arguments of `pip install` run in the clone, e.g. `.[gpu]`.", STR),
            "host": d("Git host (default github.com).", STR),
            "git_clone_recursive": d("Clone submodules too.", BOOL),
        },
        ["git_repo"],
    ),
    "apt_packages": (
        "Install Debian packages with apt.",
        {"packages": d("Packages to install.", {**STRINGS, "minItems": 1})},
        ["packages"],
    ),
    "pip_packages": (
        "Install Python packages with pip.",
        {
            "packages": d("Requirement specifiers, e.g. `numpy` or `requests>=2.27.1`.", {**STRINGS, "minItems": 1}),
            "upgrade": d("Add --upgrade to the pip install command.", BOOL),
        },
        ["packages"],
    ),
    "wandb": (
        "Set the Weights & Biases environment (needs a WANDB_API_KEY secret).",
        {
            "project": d("W&B project.", STR),
            "entity": d("W&B user or team.", STR),
            "group": d("W&B group.", STR),
            "job_type": d("W&B job type.", STR),
            "tags": d("W&B tags.", STRINGS),
        },
        ["project", "entity"],
    ),
    "comet_ml": (
        "Set the Comet ML environment.",
        {"project_name": d("Comet project.", STR), "workspace": d("Comet workspace.", STR)},
        [],
    ),
    "mlflow": (
        "Set the MLflow environment (Databricks-managed by default).",
        {
            "experiment_name": d("MLflow experiment, e.g. /Users/<email>/<experiment>.", STR),
            "tracking_uri": d("Tracking server (default: databricks).", STR),
        },
        ["experiment_name"],
    ),
}
ENV_MESSAGE = "env_variables must be a mapping NAME: value; the list of {key, value} is mcli's retired form"


def integration_defs() -> dict:
    defs = {}
    for kind, (text, fields, required) in INTEGRATIONS.items():
        props = {"integration_type": d(text, {"const": kind}), **fields}
        defs[f"integration_{kind}"] = {
            "type": "object",
            "additionalProperties": False,
            "x-unknown": f"; not a field of mcli's `{kind}` integration",
            "required": ["integration_type", *required],
            "properties": props,
        }
    kinds = list(INTEGRATIONS)
    defs["integration"] = d(
        "One integration: `integration_type` plus that type's fields.",
        {
            "type": "object",
            "required": ["integration_type"],
            "properties": {
                "integration_type": d(
                    "Kind of integration.",
                    {"enum": kinds},
                    **{"x-message": f"integration_type must be one of {', '.join(kinds)}"},
                )
            },
            "allOf": [
                {
                    "if": {
                        "required": ["integration_type"],
                        "properties": {"integration_type": {"const": k}},
                    },
                    "then": {"$ref": f"#/$defs/integration_{k}"},
                }
                for k in kinds
            ],
        },
    )
    return defs


def run_properties() -> dict:
    return {
        "name": d(
            "Run name: lowercase letters, digits and `-`, starting and ending alphanumeric (RFC 1123); "
            "at most 56 characters (the platform appends `-` and a 6-character id). mcli rewrites an "
            "invalid name with a warning.",
            {"type": "string", "minLength": 1, "maxLength": 56},
            **{"x-message": "name must be 1 to 56 characters (the platform appends `-` and a 6-character id)"},
        ),
        "image": d(
            "Docker image, e.g. nvcr.io/nvidia/nemo:24.05.",
            {"type": "string", "pattern": IMAGE},
            **{"x-message": "image is not a Docker image reference mcli accepts (registry/name:tag)"},
        ),
        "command": d("Shell command the run executes.", {"type": "string", "minLength": 1}),
        "compute": d(
            "Compute request (mcli ComputeConfig).",
            {
                "type": "object",
                "additionalProperties": False,
                "x-unknown": "; not a field of mcli's ComputeConfig (mcli only warns, with a did-you-mean)",
                "properties": COMPUTE,
            },
        ),
        "scheduling": d(
            "Scheduling (mcli SchedulingConfig).",
            {
                "type": "object",
                "additionalProperties": False,
                "x-unknown": "; not a field of mcli's SchedulingConfig (mcli only warns, with a did-you-mean)",
                "properties": SCHEDULING,
            },
        ),
        "integrations": d(
            "Integrations set up before the command runs.",
            {"type": "array"},
            items={"$ref": "#/$defs/integration"},
        ),
        "env_variables": d(
            "Environment variables, NAME: value (strings).",
            {
                "type": "object",
                "additionalProperties": {
                    "type": "string",
                    "x-message": 'env_variables values are strings: quote numbers and booleans, e.g. "1"',
                },
            },
            **{"x-message": ENV_MESSAGE},
        ),
        "parameters": d(
            "Mounted in the run at /mnt/config/parameters.yaml ($PARAMETERS); here the NeMo config.",
            {"type": "object"},
        ),
        "metadata": d(
            "User metadata: at most 200 keys of at most 200 characters, each value at most 0.1 MB.",
            {"type": "object", "maxProperties": 200, "propertyNames": {"maxLength": 200}},
        ),
        "parent_name": d("Name of the parent run (mcli fills it in when a run starts another run).", STR),
        "dependent_deployment": d("Inference deployment started with the run.", {"type": "object"}),
        "run_name": retired("run_name", "name"),
        "gpu_num": retired("gpu_num", "compute.gpus"),
        "cluster": retired("cluster", "compute.cluster"),
        "gpu_type": retired("gpu_type", "compute.gpu_type"),
        "cpus": retired("cpus", "compute.cpus"),
    }


def mcli_run() -> dict:
    return {
        "$schema": DRAFT,
        "title": "mcli run (expanded)",
        "description": "A complete mosaicml-cli 0.8.3 run configuration, as submitted. Generated by "
        "scripts/gen_schemas/mcli.py.",
        "type": "object",
        "additionalProperties": False,
        "x-unknown": "; not a field of mcli's RunConfig (mcli drops it with a warning)",
        "required": ["name", "image", "command", "compute"],
        "properties": run_properties(),
        "$defs": integration_defs(),
    }


INTERPOLATION = {"type": "string", "pattern": r"\$\{.+\}", "description": "A Hydra/OmegaConf interpolation."}


def relax(schema, partial: bool = True):
    """Authoring form: non-text values may be `${...}` interpolations; `partial`: nothing required."""
    if isinstance(schema, list):
        return [relax(s, partial) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: relax(v, partial) for k, v in schema.items() if not (partial and k == "required")}
    types = out.get("type")
    types = [types] if isinstance(types, str) else types or []
    scalar = "string" not in types and set(types) & {"integer", "number", "boolean"}
    if types and (scalar or "pattern" in out):
        keep = {k: out.pop(k) for k in ("description", "x-message") if k in out}
        return {**keep, "anyOf": [out, INTERPOLATION]}
    return out


RUNREPO = {
    "gpus_per_node": d("GPUs per node of the cluster; derives trainer.devices.", {"type": "integer", "minimum": 1}),
    "gpu_memory_mib": d("Memory of one GPU in MiB (nvidia-smi's total), for memory estimates.", {"type": "integer"}),
    "nemo_release": d('NeMo release of the image, e.g. "1.13" or "2.0": selects the NeMo schema.', STR),
    "pretraining_script": d("Path of NeMo's megatron_gpt_pretraining.py inside the image.", STR),
    "launch": d("Command that starts NeMo's pretraining script (used by `command`).", STR),
    "rerun": d("Explicit rerun counter: part of the run's hash, so a new value submits the same run again."),
}


def run_file() -> dict:
    props = relax(run_properties())
    props["parameters"]["description"] = (
        "Overrides of the NeMo config (merged over the layers in `defaults`), mounted as parameters.yaml; "
        "null in a layer drops what earlier layers set (runs/node/data_prep.yaml: a data run's recipe replaces it)."
    )
    for key in ("command", "parameters"):  # null: cleared by a layer, written later (a data run's command by runrepo)
        props[key]["type"] = [props[key]["type"], "null"]
    runrepo = d(
        "runrepo's own settings: used while composing, never sent to the platform (open).",
        {"type": "object", "additionalProperties": True, "properties": relax(RUNREPO)},
    )
    defaults = d(
        "Hydra defaults list: layers merged in order, e.g. `/base`, `/cluster: r7z2`, `_self_`.",
        {
            "type": "array",
            "items": {
                "anyOf": [
                    d("A config (`/base`) or `_self_` (this file's own values).", STR),
                    d(
                        "A config group and its option, e.g. `/cluster: r7z2`.",
                        {
                            "type": "object",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "additionalProperties": {"type": ["string", "null", "array"], "items": STR},
                        },
                    ),
                ]
            },
        },
    )
    return {
        "$schema": DRAFT,
        "title": "runrepo run file",
        "description": "A run file or config layer as written: Hydra `defaults`, partial overrides of the "
        "mcli run, and the `runrepo` section. Composition produces the run checked by mcli-run.json. "
        "Generated by scripts/gen_schemas/mcli.py.",
        "type": "object",
        "additionalProperties": False,
        "x-unknown": "; not a field of an mcli run or of runrepo's run file",
        "properties": {"defaults": defaults, **props, "runrepo": runrepo},
        "$defs": relax(integration_defs(), partial=False),  # a list item is never a partial override
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write schemas/mcli-run.json and schemas/run-file.json.")
    parser.add_argument("--out", type=Path, default=SCHEMAS, help="schemas directory (default: schemas/)")
    args = parser.parse_args(argv)
    print(write(args.out / "mcli-run.json", mcli_run()))
    print(write(args.out / "run-file.json", run_file()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
