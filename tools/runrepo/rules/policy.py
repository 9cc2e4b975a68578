"""Policy rules: runs/policy.yaml's limits, applied to one expanded run (ctx.policy).

With no policy (no runs/policy.yaml) none of them reports anything. Each message names the
policy line that sets the limit; a run allowed above a limit names its approval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from ..compose.render import DATASET_KEY, SUBMIT_KEYS
from ..releases import image_tag
from ..validate.policy import FILE, where
from .limits import approval, gpu_hours, limit, number
from .registry import Hit, rule

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath
    from .context import RunCtx

MOVING = ("latest", "main", "nightly", "dev")  # image-pinned reports these; not said twice


@lru_cache(maxsize=32)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


@rule(
    "policy-cluster",
    "compute.cluster is one of the clusters runs/policy.yaml allows",
    example="compute:\n  cluster: r0z0   # not in policy.yaml `clusters` #<",
    fix="compute:\n  cluster: r7z2",
)
def policy_cluster(ctx: RunCtx) -> Iterator[Hit]:
    allowed, cluster = ctx.policy.get("clusters"), ctx.get("compute.cluster")
    if allowed is None or not isinstance(cluster, str):
        return
    if cluster not in allowed:
        yield Hit(
            ("compute", "cluster"),
            f"cluster {cluster!r} is not allowed by policy ({where(ctx.policy, 'clusters')}); "
            f"allowed: {', '.join(allowed) or '(none)'}",
        )


@rule(
    "policy-registry",
    "the image comes from an allowed registry and is pinned as policy says (release tag or digest)",
    example="image: docker.io/someone/nemo:24.05  #<",
    fix="image: nvcr.io/nvidia/nemo:24.05",
)
def policy_registry(ctx: RunCtx) -> Iterator[Hit]:
    images, image = ctx.policy.get("images") or {}, ctx.get("image")
    if not isinstance(image, str) or not images:
        return
    registries = images.get("registries")
    if registries is not None and not any(image.startswith(r) for r in registries):
        yield Hit(
            ("image",),
            f"image {image!r} is not from an allowed registry ({where(ctx.policy, 'images', 'registries')}): "
            f"{', '.join(registries) or '(none)'}",
        )
        return
    tag = image_tag(image)
    if images.get("pin") == "digest" and "@sha256:" not in image:
        yield Hit(
            ("image",),
            f"policy ({where(ctx.policy, 'images', 'pin')}) pins images by digest: write "
            f"{image.split('@')[0]}@sha256:<digest> (`docker buildx imagetools inspect {image}` prints it)",
        )
    elif images.get("tag_pattern") and "@" not in image and tag and tag not in MOVING and not tag.endswith("-latest"):
        if not _pattern(images["tag_pattern"]).search(tag):
            yield Hit(
                ("image",),
                f"image tag {tag!r} is not a release tag the policy accepts "
                f"({where(ctx.policy, 'images', 'tag_pattern')}: {images['tag_pattern']})",
            )


@rule(
    "policy-gpus",
    "compute.gpus is at most policy max_gpus_per_run (or the run's approval in runs/policy.yaml)",
    example="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 32   # 256 GPUs #<",
    fix="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 8",
)
def policy_gpus(ctx: RunCtx) -> Iterator[Hit]:
    cap, at = limit(ctx.policy, "max_gpus_per_run", ctx.run_file, "max_gpus")
    raw = ctx.get("compute.gpus")
    gpus = number(raw)
    if cap is None:
        return
    if gpus is None:  # fail closed: a limit that cannot be checked is not met
        yield Hit(("compute", "gpus"), f"compute.gpus is {_shown(raw, 'a number of GPUs')}: {_unchecked(at)}")
    elif gpus > cap:
        yield Hit(("compute", "gpus"), f"{gpus:g} GPUs is over the limit of {cap:g} per run ({at}); {_ask(ctx)}")


@rule(
    "policy-gpu-hours",
    "compute.gpus x scheduling.max_duration is at most policy max_gpu_hours_per_run (or the run's approval)",
    example="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 8  #<\nscheduling:\n  max_duration: 72",
    fix="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 8\nscheduling:\n  max_duration: 24",
)
def policy_gpu_hours(ctx: RunCtx) -> Iterator[Hit]:
    cap, at = limit(ctx.policy, "max_gpu_hours_per_run", ctx.run_file, "max_gpu_hours")
    if cap is None:
        return
    raw = ctx.get("compute.gpus")
    if number(raw) is None:  # fail closed; policy-gpus says so instead when it has a limit of its own
        if limit(ctx.policy, "max_gpus_per_run", ctx.run_file, "max_gpus")[0] is None:
            yield Hit(("compute", "gpus"), f"compute.gpus is {_shown(raw, 'a number of GPUs')}: {_unchecked(at)}")
        return
    hours = gpu_hours(ctx.run)
    if hours is None or hours <= cap:  # no max_duration, or an unreadable one: policy-max-duration
        return
    yield Hit(
        _blame(ctx, ("compute", "gpus"), ("scheduling", "max_duration")),
        f"{number(raw):g} GPUs x {number(ctx.get('scheduling.max_duration')):g} h = {hours:g} GPU-hours, over the "
        f"limit of {cap:g} per run ({at}); shorten scheduling.max_duration or {_ask(ctx)}",
    )


@rule(
    "policy-max-duration",
    "scheduling.max_duration is set (hours) and within policy max_duration_hours: every run has a GPU-hour bound",
    example="scheduling:\n  max_duration: null  #<",
    fix="scheduling:\n  max_duration: 24.0",
)
def policy_max_duration(ctx: RunCtx) -> Iterator[Hit]:
    hours = ctx.get("scheduling.max_duration")
    if hours is None:
        if ctx.policy.get("require_max_duration"):
            yield Hit(
                ("scheduling", "max_duration"),
                "scheduling.max_duration is required by policy "
                f"({where(ctx.policy, 'require_max_duration')}): without it the run holds its GPUs until it ends "
                "and its GPU-hours have no bound; set it in hours, e.g. 24.0",
            )
        return
    cap, value = number(ctx.policy.get("max_duration_hours")), number(hours)
    if value is None or value <= 0:  # fail closed: no readable bound on the run's GPU-hours
        if cap is not None or ctx.policy.get("require_max_duration") or ctx.policy.get("max_gpu_hours_per_run"):
            yield Hit(
                ("scheduling", "max_duration"),
                f"scheduling.max_duration is {_shown(hours, 'a positive number of hours')}: "
                f"{_unchecked(where(ctx.policy, 'max_duration_hours'))}",
            )
        return
    if cap is not None and value > cap:
        yield Hit(
            ("scheduling", "max_duration"),
            f"scheduling.max_duration={hours:g} h is over the policy limit of {cap:g} h "
            f"({where(ctx.policy, 'max_duration_hours')}); checkpoint and continue in a follow-up run",
        )


@rule(
    "policy-integration",
    "every integration_type is one runs/policy.yaml allows",
    example="integrations:\n  - integration_type: comet_ml   # not in policy.yaml `integrations` #<\n"
            "    project_name: x",
    fix="integrations:\n  - integration_type: apt_packages\n    packages: [parallel]",
)
def policy_integration(ctx: RunCtx) -> Iterator[Hit]:
    allowed, items = ctx.policy.get("integrations"), ctx.get("integrations")
    if allowed is None or not isinstance(items, list):
        return
    for i, item in enumerate(items):
        kind = item.get("integration_type") if isinstance(item, dict) else None
        if isinstance(kind, str) and kind not in allowed:
            yield Hit(
                ("integrations", i, "integration_type"),
                f"integration {kind!r} is not allowed by policy ({where(ctx.policy, 'integrations')}); "
                f"allowed: {', '.join(allowed) or '(none)'}",
            )


# The platform's own metadata limits (mcli reference: 200 keys of 200 characters, values of 0.1 MB).
# The mcli schema checks key count and length on the run as written; what it cannot see is here:
# value size, and the keys `runrepo submit` adds (runrepo_path, runrepo_digest, runrepo_commit).
METADATA_KEYS, METADATA_VALUE_BYTES, RESERVED_KEYS = 200, 100_000, len(SUBMIT_KEYS)


@rule(
    "metadata-size",
    f"metadata fits the platform: each value at most 0.1 MB, and room for the {RESERVED_KEYS} keys runrepo submit adds",
)
def metadata_size(ctx: RunCtx) -> Iterator[Hit]:
    meta = ctx.get("metadata")
    if not isinstance(meta, dict):
        return
    for key, value in meta.items():
        size = len(json.dumps(value, ensure_ascii=False, default=str).encode()) - (2 if isinstance(value, str) else 0)
        if size > METADATA_VALUE_BYTES:
            yield Hit(
                ("metadata", key),
                f"metadata.{key} is {size} bytes; the platform accepts at most {METADATA_VALUE_BYTES} (0.1 MB) "
                "per value: store it elsewhere and link to it",
            )
    user = [k for k in meta if not str(k).startswith("runrepo_")]
    keys = (*SUBMIT_KEYS, *((DATASET_KEY,) if ctx.kind == "data" else ()))  # a data run also carries its dataset's
    if METADATA_KEYS - len(keys) < len(user) <= METADATA_KEYS:
        yield Hit(
            ("metadata",),
            f"metadata has {len(user)} keys; runrepo submit adds {len(keys)} ("
            f"{', '.join('runrepo_' + k for k in keys)}) and the platform accepts {METADATA_KEYS}: keep it to "
            f"{METADATA_KEYS - len(keys)}",
        )


def _shown(value: Json, want: str) -> str:
    return "not set" if value is None else f"{repr(value)[:60]}, not {want}"


def _unchecked(at: str) -> str:
    return f"the policy limit ({at}) cannot be checked, so the run is refused until it is"


def _blame(ctx: RunCtx, *paths: KeyPath) -> KeyPath:
    """The first of `paths` the run file itself sets (the line a pull request changes), else the first."""
    for path in paths:
        if ctx.origin(path).file == ctx.run_file:
            return path
    return paths[0]


def _ask(ctx: RunCtx) -> str:
    if approval(ctx.policy, ctx.run_file):
        return "its approval does not cover this much; ask a maintainer to raise it"
    return (
        f"ask a maintainer to merge an approval for it into {FILE} (approvals: - run: {ctx.run_file}, "
        "reason: ..., max_gpus/max_gpu_hours: ...) before this change"
    )
