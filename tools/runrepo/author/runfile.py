"""What `new` and `import` share: the layer options under runs/, and the ~15-line run file they write."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..compose.layers import RUNS, TreeSource
from ..compose.render import Dumper
from ..errors import RunrepoError
from ..rules.platform import MAX_NAME, NAME_RE

DEFAULT_DATA = "/mnt/data/pile/pile_00_text_document"  # the bundled runs' dataset


class Flow(list):
    """A list written inline, `[1.0, /path]`, as the bundled run files write data_prefix."""


class _Dumper(Dumper):
    pass


_Dumper.add_representer(Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)


def options(source: TreeSource, group: str) -> list[str]:
    """The options of a group, read from runs/<group>/*.yaml."""
    prefix = group + "/"
    return sorted(n[len(prefix) :] for n in source.names() if n.startswith(prefix) and "/" not in n[len(prefix) :])


def nemo_options(source: TreeSource) -> list[str]:
    """NeMo options, oldest release first (v1_11 < v1_13 < v2_0)."""

    def key(opt: str):
        nums = re.findall(r"\d+", opt)
        return tuple(int(n) for n in nums) if nums else (0,)

    return sorted(options(source, "nemo"), key=key)


def layer_data(source: TreeSource, name: str) -> dict:
    return source.layer(name).data


def nemo_for_release(source: TreeSource, release: str) -> str | None:
    """The runs/nemo option whose runrepo.nemo_release is `release`."""
    for opt in nemo_options(source):
        tool = layer_data(source, f"nemo/{opt}").get("runrepo") or {}
        if str(tool.get("nemo_release")) == release:
            return opt
    return None


def cluster_info(source: TreeSource, opt: str) -> tuple[int, str]:
    """(GPUs per node, GPU type) of a cluster overlay."""
    data = layer_data(source, f"cluster/{opt}")
    gpn = (data.get("runrepo") or {}).get("gpus_per_node")
    return (gpn if isinstance(gpn, int) else 8), str((data.get("compute") or {}).get("gpu_type", ""))


def valid_name(name: str) -> str | None:
    """None if `name` is a valid run name, else why not."""
    if not name:
        return "a run name is required"
    if len(name) > MAX_NAME:
        return f"{name!r} is {len(name)} characters; at most {MAX_NAME} (the platform appends a suffix)"
    if not NAME_RE.match(name):
        return f"{name!r}: use lowercase letters, digits and '-', starting and ending with a letter or digit"
    return None


def sanitize(name: str) -> str:
    """The closest valid run name: `Run_Name.v2` -> `run-name-v2`."""
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    out = re.sub(r"-{2,}", "-", out)[:MAX_NAME].strip("-")
    return out or "imported-run"


def check_choice(source: TreeSource, group: str, value: str, flag: str) -> None:
    choices = nemo_options(source) if group == "nemo" else options(source, group)
    if value not in choices:
        from ..compose.choices import closest

        listed = ", ".join(choices) or f"(none: runs/{group}/ is empty)"
        hint = closest(value, choices)
        raise RunrepoError("usage", f"{flag} {value!r} is not one of runs/{group}/: {listed}"
                           + (f"; did you mean {hint!r}?" if hint else ""))


@dataclass
class RunSpec:
    """Everything a run file says; the layers supply the rest."""

    name: str
    nemo: str
    cluster: str
    node: str
    model: str | None  # None: NeMo's default model config, no preset
    nodes: int
    comment: list[str]
    top: dict = field(default_factory=dict)  # image, scheduling, env_variables, integrations, ...
    parameters: dict = field(default_factory=dict)
    cluster_note: str = ""  # a comment after the cluster entry (import: choose a cluster)


def text(spec: RunSpec) -> str:
    lines = ["# @package _global_"] + [f"# {c}" if c else "#" for c in spec.comment]
    lines += [
        "defaults:",
        f"  - /nemo: {spec.nemo}",
        "  - /base",
        f"  - /cluster: {spec.cluster}" + (f"  # {spec.cluster_note}" if spec.cluster_note else ""),
        f"  - /node: {spec.node}",
    ]
    if spec.model:
        lines.append(f"  - /model: {spec.model}")
    lines.append("  - _self_")
    body: dict = {"name": spec.name}
    if spec.node != "single_node" or spec.nodes != 1:
        body["compute"] = {"nodes": spec.nodes}
    for key, value in spec.top.items():
        if key == "compute":
            body.setdefault("compute", {}).update(value)
        else:
            body[key] = value
    if spec.parameters:
        body["parameters"] = spec.parameters
    return "\n".join(lines) + "\n" + dump(body)


def run_path(repo: Path, name: str) -> Path:
    return repo / RUNS / "experiments" / f"{name}.yaml"


def nest(tree: dict, dotted: str, value) -> None:
    """tree['a']['b'] = value for 'a.b' (creating mappings on the way)."""
    keys = dotted.split(".")
    for k in keys[:-1]:
        nxt = tree.get(k)
        if not isinstance(nxt, dict):
            nxt = tree[k] = {}
        tree = nxt
    tree[keys[-1]] = value


def lookup(tree, dotted: str, default=None):
    for k in dotted.split("."):
        if not isinstance(tree, dict) or k not in tree:
            return default
        tree = tree[k]
    return tree
