"""Tokens, steps, FLOPs and GPU-hours of a run: what it asks for and what the platform allows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict

from .params import active_layer_params
from .shape import as_dict, as_float, as_int

if TYPE_CHECKING:
    from ..compose.gate import Json
    from .spec import Spec

# Dense bf16 tensor-core peak per GPU (NVIDIA datasheets, SXM parts), by mcli gpu_type prefix.
PEAK_TFLOPS = {"a100": 312.0, "h100": 989.0, "h200": 989.0}
ASSUMED_MFU = 0.40  # a typical model-FLOPs utilisation of tuned Megatron GPT training
_DHMS = re.compile(r"^\s*(\d+):(\d+):(\d+):(\d+)\s*$")
_TIMEDELTA_KEYS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds")
_SECONDS: dict[str, float] = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
            "milliseconds": 1e-3, "microseconds": 1e-6}


class _BudgetRequired(TypedDict):
    tokens_per_step: int
    max_steps: int | None
    tokens_total: int | None
    gpus: int | None
    max_duration_hours: float | None
    gpu_hours_budget: float | None
    max_time_hours: float | None
    flops_per_step: float
    assumptions: list[str]


class Budget(_BudgetRequired, total=False):
    hours_to_max_steps: float  # with a known GPU peak, max_steps and a world size
    gpu_hours_to_max_steps: float


def max_time_seconds(value: Json) -> float | None:
    """Lightning's trainer.max_time: a "DD:HH:MM:SS" string or a timedelta mapping; None if neither."""
    if isinstance(value, str):
        m = _DHMS.match(value)
        if not m:
            return None
        d, h, mi, s = (int(x) for x in m.groups())
        return d * 86400 + h * 3600 + mi * 60 + s
    if isinstance(value, dict) and value and all(k in _TIMEDELTA_KEYS for k in value):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
            return None
        return float(sum(_SECONDS[k] * v for k, v in value.items()))
    return None


def flops_per_step(spec: Spec) -> float:
    """Model FLOPs of one optimizer step: 6 x (parameters a token passes through) per token, plus attention."""
    L, s, h = spec["layers"], spec["seq"], spec["hidden"]
    tokens = spec["global_batch"] * s
    # the output projection, tied or not; with MoE only the top-k experts a token is routed to
    matmul_params = L * active_layer_params(spec) + spec["vocab"] * h
    attention = 12 * L * spec["heads"] * spec["kv_channels"] * s  # QK^T and PV, forward and backward
    return tokens * (6 * matmul_params + attention)


def budget(spec: Spec, run: Mapping[str, Json], world_size: int | None) -> Budget:
    params = as_dict(run.get("parameters"))
    trainer = as_dict(params.get("trainer"))
    sched = as_dict(run.get("scheduling"))
    compute = as_dict(run.get("compute"))
    tokens = spec["global_batch"] * spec["seq"]
    steps = as_int(trainer.get("max_steps"))
    steps = steps if steps and steps > 0 else None
    hours = as_float(sched.get("max_duration"), 0.0) or None
    max_time = max_time_seconds(trainer.get("max_time"))
    out: Budget = {
        "tokens_per_step": tokens,
        "max_steps": steps,
        "tokens_total": tokens * steps if steps else None,
        "gpus": world_size,
        "max_duration_hours": hours,
        "gpu_hours_budget": world_size * hours if world_size and hours else None,
        "max_time_hours": max_time / 3600 if max_time is not None else None,
        "flops_per_step": flops_per_step(spec),
        "assumptions": [],
    }
    gpu_type = str(compute.get("gpu_type") or "")
    peak = next((v for k, v in PEAK_TFLOPS.items() if gpu_type.startswith(k)), None)
    if peak and steps and world_size:
        seconds = steps * out["flops_per_step"] / (world_size * peak * 1e12 * ASSUMED_MFU)
        out["hours_to_max_steps"] = seconds / 3600
        out["gpu_hours_to_max_steps"] = seconds / 3600 * world_size
        out["assumptions"].append(f"{ASSUMED_MFU:.0%} MFU of {peak:g} TFLOP/s dense bf16 per {gpu_type}")
    return out
