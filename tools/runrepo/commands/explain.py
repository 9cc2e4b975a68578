"""`runrepo explain RUN_FILE [--format json]`: layout, size, per-GPU memory and budget of a run."""

from __future__ import annotations

import json
import sys

from ..errors import EXIT_FINDINGS, EXIT_USAGE
from ..estimate import GiB, estimate_run
from ..estimate.assumptions import UNMEASURED
from . import common

_ROWS = (("weights", "weights"), ("gradients", "gradients"), ("optimizer_state", "optimizer state"),
         ("activations", "activations kept"), ("logits", "logits + fp32 copy"),
         ("transient", "backward working set"), ("optimizer_temporaries", "Adam step temporaries"),
         ("overhead", "runtime buffers"))


def add_parser(sub):
    p = sub.add_parser("explain", help="parallel layout, parameter count, per-GPU memory and GPU-hours of a run")
    p.add_argument("path", help="a run file under runs/experiments/")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: for reading (default); json: every figure, for scripts")
    common.add_repo_arg(p)
    return p


def _n(x, unit="") -> str:
    return "-" if x is None else f"{x:,.0f}{unit}" if isinstance(x, int) or float(x).is_integer() else f"{x:,.1f}{unit}"


def _gib(b) -> str:
    return f"{b / GiB:8.2f} GiB"


def _params_line(counts: dict) -> str:
    line = f"parameters: {counts['total'] / 1e9:,.3f} B"
    if counts.get("experts"):
        line += (f" ({counts['experts']} experts; {counts['active'] / 1e9:,.3f} B active per token with "
                 f"top-{counts['topk']} routing)")
    else:  # the launcher's formula is for a dense GPT with a 4h MLP
        line += f" (launcher formula {counts['launcher_formula'] / 1e9:,.3f} B)"
    return line + (f"; vocabulary {counts['vocab_raw']:,} from {counts.get('vocab_source', 'the tokenizer')}, "
                   f"padded to {counts['vocab_padded']:,}")


def render_text(path: str, est: dict) -> str:
    lay, counts, mem, bud = est["layout"], est["params"], est["memory"], est["budget"]
    vp = lay["vp"] or "none"
    lines = [
        f"{path} (NeMo {est['release'] or 'release unknown'})",
        "",
        f"layout: {_n(lay['world_size'])} GPUs = TP {lay['tp']} x PP {lay['pp']} x CP {lay['cp']} x DP {lay['dp']}; "
        f"virtual pipeline {vp}; sequence parallel {'on' if lay['sequence_parallel'] else 'off'}"
        + (f"; expert parallel {lay['ep']}, expert data parallel {lay['expert_dp']}" if counts.get("experts") else ""),
        f"batch: micro {lay['micro_batch_size']} x DP {lay['dp']} x {lay['num_microbatches']} microbatches = "
        f"global {lay['global_batch_size']}",
        _params_line(counts),
        f"attention: {est['attention']['kernel']} ({est['attention']['why']})",
        "",
        f"memory per GPU ({mem['stage']} pipeline stage, peak during {mem['peak_phase']}):",
    ]
    lines += [f"  {label:<24}{_gib(mem['breakdown'][key])}" for key, label in _ROWS if mem["breakdown"].get(key)]
    lines.append(f"  {'total':<24}{_gib(mem['per_gpu_bytes'])}")
    if "usable_bytes" in mem:
        lines.append(f"  {'usable':<24}{_gib(mem['usable_bytes'])}  ({lay['gpu_type'] or 'GPU'} "
                     f"{_n(lay['gpu_memory_mib'])} MiB less {mem['reserve_bytes'] / GiB:g} GiB CUDA reserve)")
        lines.append(f"  -> {mem['fraction']:.0%} of usable: {'fits' if mem['fits'] else 'OUT OF MEMORY'}")
    else:
        lines.append("  usable memory unknown: the cluster layer sets no runrepo.gpu_memory_mib")
    lines += ["assumptions:"] + [f"  - {a}" for a in mem["assumptions"]]
    if any(a.endswith(UNMEASURED) for a in mem["assumptions"]):
        lines.append(f"  ({UNMEASURED.strip()}: modelled from Megatron-core's source; the 17 measured setups are one "
                     "GPU with unfused attention)")
    lines += [
        "",
        f"tokens per step: {_n(bud['tokens_per_step'])}",
        f"steps: {_n(bud['max_steps'])} (trainer.max_steps)"
        + (f" = {bud['tokens_total'] / 1e9:,.1f} B tokens" if bud["tokens_total"] else ""),
        f"time limit: scheduling.max_duration {_n(bud['max_duration_hours'], ' h')}, "
        f"trainer.max_time {_n(bud['max_time_hours'], ' h')}",
        f"GPU-hours per attempt: {_n(bud['gpu_hours_budget'])} ({_n(bud['gpus'])} GPUs x max_duration)",
        f"model FLOPs per step: {bud['flops_per_step']:.3g}",
    ]
    if bud.get("hours_to_max_steps") is not None:
        lines.append(f"max_steps at the assumed speed: {_n(bud['hours_to_max_steps'], ' h')}, "
                     f"{_n(bud['gpu_hours_to_max_steps'])} GPU-hours ({'; '.join(bud['assumptions'])})")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from ..check import expand, is_data_run

    source = common.source(args)
    names = common.run_names([args.path], source)
    if names is None:
        return EXIT_USAGE
    if is_data_run(names[0]):
        print(f"{args.path}: a data run: explain estimates training runs (`runrepo render` shows what it runs)",
              file=sys.stderr)
        return EXIT_USAGE
    resolved, findings = expand(source, names[0])
    if resolved is None:
        for f in findings:
            print(f, file=sys.stderr)
        return EXIT_FINDINGS
    est = estimate_run(resolved.run, resolved.tool, common.policy(source).get("cuda_reserve_mib"))
    if "error" in est:
        print(f"{args.path}: cannot estimate: {est['error']}", file=sys.stderr)
        return EXIT_FINDINGS
    if args.format == "json":
        sys.stdout.write(json.dumps(est, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(render_text(resolved.composed.run, est))
    return 0
