"""schemas/mcli-run.json against real mcli run files and hand-made mistakes."""

from __future__ import annotations

import copy

import pytest
import yaml
from schema_helpers import corpus, errors

NAME = "mcli-run.json"
RETIRED_FOUNDRY = ("mcli-hf-eval.yaml", "mcli-openai-eval.yaml")
RUN = {
    "name": "nemo-gpt-test",
    "image": "nvcr.io/nvidia/nemo:24.05",
    "command": "python train.py",
    "compute": {"cluster": "r7z2", "gpus": 8, "gpu_type": "a100_80gb"},
    "scheduling": {"priority": "low", "max_duration": 24.0, "preemptible": False},
    "integrations": [{"integration_type": "apt_packages", "packages": ["parallel"]}],
    "env_variables": {"PYTHONUNBUFFERED": "1"},
    "parameters": {"trainer": {"devices": 8}},
    "metadata": {"git_sha": "abc123"},
}


def foundry() -> list:
    folder = corpus("mcli", "llm-foundry")
    return sorted(folder.glob("*.yaml"))


def load(path) -> dict:
    return yaml.safe_load(path.read_text())


def messages(instance) -> str:
    return "\n".join(m for _, m in errors(NAME, instance))


def test_modern_llm_foundry_runs_are_valid():
    modern = [p for p in foundry() if p.name not in RETIRED_FOUNDRY]
    assert len(modern) == 9
    for path in modern:
        assert errors(NAME, load(path)) == [], path.name


@pytest.mark.parametrize("file", RETIRED_FOUNDRY)
def test_retired_llm_foundry_runs_name_the_modern_fields(file):
    text = messages(load(corpus("mcli", "llm-foundry", file)))
    assert "`run_name` is retired in mcli: use `name`" in text
    assert "use `compute.gpus`" in text


def test_openai_eval_retired_cluster_and_gpu_type():
    text = messages(load(corpus("mcli", "llm-foundry", "mcli-openai-eval.yaml")))
    assert "use `compute.cluster`" in text and "use `compute.gpu_type`" in text


def test_seed_single_node_names_every_modern_field():
    found = dict(errors(NAME, load(corpus("mcli", "seed", "single_node.yaml"))))
    assert found["run_name"] == "`run_name` is retired in mcli: use `name`"
    assert found["gpu_num"] == "`gpu_num` is retired in mcli: use `compute.gpus`"
    assert found["cluster"] == "`cluster` is retired in mcli: use `compute.cluster`"
    assert "list of {key, value} is mcli's retired form" in found["env_variables"]


def test_seed_multi_node_fails_only_on_list_env_variables():
    found = errors(NAME, load(corpus("mcli", "seed", "multi_node.yaml")))
    assert found == [
        (
            "env_variables",
            "env_variables must be a mapping NAME: value; the list of {key, value} is mcli's retired form",
        )
    ]


def test_a_complete_run_is_valid():
    assert errors(NAME, RUN) == []


@pytest.mark.parametrize("field", ["name", "image", "command", "compute"])
def test_required_fields(field):
    run = {k: v for k, v in RUN.items() if k != field}
    assert any(field in m for _, m in errors(NAME, run))


def mutate(path: str, value):
    run = copy.deepcopy(RUN)
    *parents, last = path.split(".")
    node = run
    for key in parents:
        node = node[key]
    node[last] = value
    return run


@pytest.mark.parametrize(
    "path,value,expected",
    [
        ("scheduling.max_duration", 0, "max_duration is a number of hours greater than 0"),
        ("scheduling.max_duration", -2.5, "greater than 0"),
        ("scheduling.priority", "high", "is not one of"),
        ("scheduling.preemptable", True, "preemptable"),
        ("compute.gpu", 8, "gpu"),
        ("compute.gpus", "8", "is not of type"),
        ("env_variables.PYTHONUNBUFFERED", 1, "quote numbers"),
        ("image", "NVCR.io/Nvidia/NeMo:24.05", "not a Docker image reference"),
        ("name", "x" * 57, "1 to 56 characters"),
        ("gpu_type", "a100_80gb", "use `compute.gpu_type`"),
        ("cpus", 8, "use `compute.cpus`"),
        ("surprise", 1, "surprise"),
    ],
)
def test_mistakes_fail(path, value, expected):
    assert expected in messages(mutate(path, value))


def test_metadata_limits():
    assert "too many properties" in messages(mutate("metadata", {f"k{i}": i for i in range(201)}))
    assert "is too long" in messages(mutate("metadata", {"k" * 201: 1}))
    assert errors(NAME, mutate("metadata", {f"k{i}": {"nested": [i]} for i in range(200)})) == []


@pytest.mark.parametrize(
    "item,expected",
    [
        ({"integration_type": "git_repo", "git_repo": "org/r", "git_brnach": "main"}, "git_brnach"),
        ({"integration_type": "git_repo", "git_branch": "main"}, "'git_repo' is a required property"),
        ({"integration_type": "apt_packages", "packages": "parallel"}, "is not of type 'array'"),
        ({"integration_type": "pip_packages", "packages": ["numpy"], "upgrade": "yes"}, "is not of type"),
        ({"integration_type": "docker", "image": "x"}, "integration_type must be one of"),
        ({"packages": ["parallel"]}, "'integration_type' is a required property"),
        ({"integration_type": "wandb", "project": "p"}, "'entity' is a required property"),
    ],
)
def test_integration_mistakes_fail(item, expected):
    assert expected in messages(mutate("integrations", [item]))


@pytest.mark.parametrize(
    "item",
    [
        {
            "integration_type": "git_repo",
            "git_repo": "mosaicml/llm-foundry",
            "git_commit": "abc",
            "path": "x",
            "ssh_clone": False,
            "pip_install": ".[gpu]",
            "host": "github.com",
        },
        {"integration_type": "pip_packages", "packages": ["numpy==1.26"], "upgrade": True},
        {"integration_type": "wandb", "project": "p", "entity": "e", "tags": ["a"]},
        {"integration_type": "mlflow", "experiment_name": "/Users/a@b.c/x"},
        {"integration_type": "comet_ml", "project_name": "p"},
    ],
)
def test_integrations_valid(item):
    assert errors(NAME, mutate("integrations", [item])) == []
