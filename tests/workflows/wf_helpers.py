"""Workflow files as data: every file under .github/workflows, parsed the way GitHub reads it."""

from __future__ import annotations

from pathlib import Path

import yaml
from runrepo_testing import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads the key `on` as True; GitHub reads it as the string "on"."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def workflow_files() -> list[Path]:
    return sorted(p for p in WORKFLOWS.glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


def steps(workflow: dict):
    """(job id, job, step) for every step of every job."""
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield job_id, job, step
