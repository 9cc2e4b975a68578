"""runs/policy.yaml: the organisation's limits on runs (clusters, images, GPUs, GPU-hours, ...).

It is not a Hydra layer: no run composes it. It is read through the gate's parser (size,
UTF-8, duplicate keys and aliases refused, a position for every key), and a broken policy
is a RunrepoError with the file and line, never a crash.

`runrepo check` reads the policy of the working tree (fast feedback). `runrepo plan` and
`runrepo submit` must read it from the BASE commit, `load(GitSource(repo, base))`, so that a
pull request cannot loosen the limits that judge it. For the same reason an approval (a run
allowed above the GPU or GPU-hour limits) is an entry in this file: it only counts once a
maintainer has merged it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypedDict, cast

from ..compose import gate
from ..compose.gate import Json, KeyPath, Positions
from ..compose.layers import RUNS, TreeSource
from ..errors import RunrepoError

NAME = "policy"
FILE = f"{RUNS}/{NAME}.yaml"
RULE = "policy-file"
PINS = ("tag", "digest")
ON_DELETE = ("report", "stop")  # report (the default): name the live runs; stop: stop this repository's

_NUM = (int, float)
Check = tuple[Callable[[Json], bool], str]  # (type check, description)
# key -> (type check, description); None means "unset, not enforced"
_STR_LIST: Check = (lambda v: isinstance(v, list) and all(isinstance(x, str) and x for x in v), "a list of strings")
_POSITIVE: Check = (lambda v: isinstance(v, _NUM) and not isinstance(v, bool) and v > 0, "a number greater than 0")
_POS_INT: Check = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "an integer greater than 0")
TOP: dict[str, Check] = {
    "version": (lambda v: v == 1, "1"),
    "clusters": _STR_LIST,
    "images": (lambda v: isinstance(v, dict), "a mapping (registries, pin, tag_pattern)"),
    "max_gpus_per_run": _POS_INT,
    "max_gpu_hours_per_run": _POSITIVE,
    "max_gpu_hours_per_pr": _POSITIVE,
    "max_duration_hours": _POSITIVE,
    "require_max_duration": (lambda v: isinstance(v, bool), "true or false"),
    "integrations": _STR_LIST,
    "persistent_paths": _STR_LIST,
    # A data_prefix path that no data run writes and runs/datasets.yaml does not declare: an error, not a warning.
    "require_known_datasets": (lambda v: isinstance(v, bool), "true or false"),
    "cuda_reserve_mib": _POSITIVE,  # memory the CUDA context and allocator keep from each GPU
    "approvals": (lambda v: isinstance(v, list), "a list of {run, reason, max_gpus, max_gpu_hours}"),
    # What a merge that deletes a run file does with its live platform runs (lifecycle/deleted.py).
    "on_delete": (lambda v: v in ON_DELETE, " or ".join(ON_DELETE)),
}
IMAGES: dict[str, Check] = {
    "registries": _STR_LIST,
    "pin": (lambda v: v in PINS, " or ".join(PINS)),
    "tag_pattern": (lambda v: isinstance(v, str) and 0 < len(v) <= 200, "a regular expression (<= 200 chars)"),
}
APPROVAL: dict[str, Check] = {
    "run": (
        lambda v: isinstance(v, str) and v.startswith(f"{RUNS}/experiments/") and v.endswith(".yaml"),
        "a run file path, runs/experiments/NAME.yaml",
    ),
    "reason": (lambda v: isinstance(v, str) and len(v.strip()) >= 10, "a sentence for reviewers (10+ characters)"),
    "max_gpus": _POS_INT,
    "max_gpu_hours": _POSITIVE,
}



# The parsed policy: every key of TOP may be absent, and a key set to null means "unset, not enforced".
class ImagesPolicy(TypedDict, total=False):
    registries: list[str] | None
    pin: str | None  # one of PINS
    tag_pattern: str | None


class _ApprovalRequired(TypedDict):
    run: str
    reason: str


class Approval(_ApprovalRequired, total=False):
    max_gpus: int | None
    max_gpu_hours: float | None


class Policy(TypedDict, total=False):
    version: int | None
    clusters: list[str] | None
    images: ImagesPolicy | None
    max_gpus_per_run: int | None
    max_gpu_hours_per_run: float | None
    max_gpu_hours_per_pr: float | None
    max_duration_hours: float | None
    require_max_duration: bool | None
    integrations: list[str] | None
    persistent_paths: list[str] | None
    require_known_datasets: bool | None
    cuda_reserve_mib: float | None
    approvals: list[Approval] | None
    on_delete: str | None  # one of ON_DELETE
    _file: str  # set by parse: the file, and where each key sits in it
    _pos: Positions


def _read(source: TreeSource) -> str | None:
    """The policy text from the working tree or a commit; None when the file does not exist."""
    try:
        return source.read_text(NAME)
    except RunrepoError as e:
        raise RunrepoError(RULE, e.message, e.file or FILE, e.line, e.col) from None


def _err(message: str, pos: Positions, path: KeyPath) -> RunrepoError:
    while path and path not in pos:
        path = path[:-1]
    line, col = pos.get(path, (1, 1))
    return RunrepoError(RULE, message, FILE, line, col)


def _check_keys(data: Mapping[str, Json], spec: Mapping[str, Check], pos: Positions, path: KeyPath) -> None:
    from .schema import suggest

    where = ".".join(map(str, path)) + "." if path else ""
    for key, value in data.items():
        if key not in spec:
            hint = suggest(key, spec)
            tip = f"; did you mean `{hint}`?" if hint else f"; known: {', '.join(spec)}"
            raise _err(f"unknown policy key `{where}{key}`{tip}", pos, path + (key,))
        ok, want = spec[key]
        if value is not None and not ok(value):
            raise _err(f"policy `{where}{key}` must be {want}, not {value!r}"[:300], pos, path + (key,))


def parse(text: str) -> Policy:
    """Validate policy text; the plain data plus `_file` and `_pos` (key path -> (line, col))."""
    try:
        data, pos = gate.parse_yaml(text, FILE)
    except RunrepoError as e:
        raise RunrepoError(RULE, e.message, FILE, e.line, e.col) from None
    if not isinstance(data, dict):
        raise RunrepoError(RULE, "the policy must be a mapping of limits (see README: Policy)", FILE, 1, 1)
    _check_keys(data, TOP, pos, ())
    images = data.get("images") or {}
    _check_keys(images, IMAGES, pos, ("images",))
    if images.get("tag_pattern"):
        try:
            re.compile(images["tag_pattern"])
        except re.error as e:
            raise _err(f"images.tag_pattern is not a regular expression: {e}", pos, ("images", "tag_pattern")) from None
    seen: set[str] = set()
    for i, item in enumerate(data.get("approvals") or []):
        at = ("approvals", i)
        if not isinstance(item, dict):
            raise _err("each approval is a mapping {run, reason, max_gpus and/or max_gpu_hours}", pos, at)
        _check_keys(item, APPROVAL, pos, at)
        for key in ("run", "reason"):
            if item.get(key) is None:
                raise _err(f"approval {i + 1} has no `{key}`", pos, at)
        if item.get("max_gpus") is None and item.get("max_gpu_hours") is None:
            raise _err(f"approval {i + 1} raises no limit: give max_gpus and/or max_gpu_hours", pos, at)
        if item["run"] in seen:
            raise _err(f"{item['run']} is approved twice", pos, at + ("run",))
        seen.add(item["run"])
    # every key was checked against TOP, IMAGES and APPROVAL above: the data has the shape Policy says
    return cast(Policy, {**data, "_file": FILE, "_pos": pos})


def load(source: TreeSource) -> Policy:
    """The policy of `source` (a TreeSource or GitSource); {} when there is no runs/policy.yaml.

    plan and submit call `load(GitSource(repo, base))`: the base commit's policy judges a change.
    """
    text = _read(source)
    return {} if text is None else parse(text)


def where(policy: Policy, *path: str | int) -> str:
    """`runs/policy.yaml:LINE` of a policy key, for messages."""
    line = (policy.get("_pos") or {}).get(tuple(path), (0, 0))[0]
    return f"{policy.get('_file', FILE)}:{line}" if line else policy.get("_file", FILE)


def on_delete(policy: Policy | None) -> str:
    """`report` unless the policy opts in to `stop`."""
    return "stop" if (policy or {}).get("on_delete") == "stop" else "report"
