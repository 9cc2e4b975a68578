"""model.optim of a release: the keyword arguments of every optimizer `optim.name` can build, and the
scheduler parameters of `optim.sched`.

NeMo's ModelPT.setup_optimization pops `name`, `lr` (and `sched`, `args`, `cls`) and passes every other
key of `optim` to the optimizer's constructor, so a key is read exactly when the chosen optimizer's
__init__ takes it. The registry (`AVAILABLE_OPTIMIZERS` in nemo/core/optim/optimizers.py) is read from
the release's wheel; NeMo's own optimizers from their source there. torch and apex are not in the wheel
(torch's wheel is hundreds of MB, apex is not on PyPI): their signatures are recorded below with source.
"""

from __future__ import annotations

import ast

from .pysrc import Reader, combine, init_params
from .wheels import Sources

OPTIMIZERS_MODULE = "nemo.core.optim.optimizers"
SCHEDULERS_MODULE = "nemo.core.config.schedulers"

_TORCH = "torch 2.x torch/optim/{}.py __init__ signature"
_COMMON_TORCH = ["foreach", "maximize", "differentiable"]
EXTERNAL = {  # qualified class -> (keyword arguments, source)
    "torch.optim.SGD": (
        ["lr", "momentum", "dampening", "weight_decay", "nesterov", "fused", *_COMMON_TORCH],
        _TORCH.format("sgd"),
    ),
    "torch.optim.Adam": (
        ["lr", "betas", "eps", "weight_decay", "amsgrad", "capturable", "fused", *_COMMON_TORCH],
        _TORCH.format("adam"),
    ),
    "torch.optim.AdamW": (
        ["lr", "betas", "eps", "weight_decay", "amsgrad", "capturable", "fused", *_COMMON_TORCH],
        _TORCH.format("adamw"),
    ),
    "torch.optim.adadelta.Adadelta": (
        ["lr", "rho", "eps", "weight_decay", "capturable", *_COMMON_TORCH],
        _TORCH.format("adadelta"),
    ),
    "torch.optim.adamax.Adamax": (
        ["lr", "betas", "eps", "weight_decay", "capturable", *_COMMON_TORCH],
        _TORCH.format("adamax"),
    ),
    "torch.optim.adagrad.Adagrad": (
        ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "fused", *_COMMON_TORCH],
        _TORCH.format("adagrad"),
    ),
    "torch.optim.rmsprop.RMSprop": (
        ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "capturable", *_COMMON_TORCH],
        _TORCH.format("rmsprop"),
    ),
    "torch.optim.rprop.Rprop": (
        ["lr", "etas", "step_sizes", "capturable", *_COMMON_TORCH],
        _TORCH.format("rprop"),
    ),
    "apex.optimizers.FusedAdam": (
        ["lr", "bias_correction", "betas", "eps", "adam_w_mode", "weight_decay", "amsgrad", "set_grad_none",
         "capturable", "master_weights"],
        "NVIDIA/apex apex/optimizers/fused_adam.py FusedAdam.__init__",
    ),
    "apex.optimizers.FusedLAMB": (
        ["lr", "bias_correction", "betas", "eps", "weight_decay", "amsgrad", "adam_w_mode", "grad_averaging",
         "set_grad_none", "max_grad_norm", "use_nvlamb"],
        "NVIDIA/apex apex/optimizers/fused_lamb.py FusedLAMB.__init__",
    ),
    "apex.contrib.optimizers.distributed_fused_adam.DistributedFusedAdam": (
        ["lr", "bias_correction", "betas", "eps", "adam_w_mode", "weight_decay", "amsgrad", "dtype",
         "grad_sync_dtype", "param_sync_dtype", "device", "process_group", "distributed_process_group",
         "redundant_process_group", "average_grad_sync", "overlap_grad_sync", "overlap_param_sync",
         "bucket_cap_mb", "pipeline_size", "contiguous_param_buffer", "contiguous_grad_buffer", "store_params",
         "store_param_remainders", "with_scaled_states", "nccl_ub"],
        "NVIDIA/apex apex/contrib/optimizers/distributed_fused_adam.py DistributedFusedAdam.__init__ "
        "(d571f3e, 2022, and the 2024 signature that adds with_scaled_states and nccl_ub)",
    ),
}


def _registry(nemo: Sources) -> dict[str, str]:
    """{optim.name: class name as written in optimizers.py}, from the dict literal and later assignments."""
    tree = nemo.module(OPTIMIZERS_MODULE)[0]
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            if any(ast.unparse(t) == "AVAILABLE_OPTIMIZERS" for t in node.targets):
                for k, v in zip(node.value.keys, node.value.values, strict=True):
                    if isinstance(k, ast.Constant):
                        out[k.value] = ast.unparse(v)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            target = node.targets[0]
            if ast.unparse(target.value) == "AVAILABLE_OPTIMIZERS" and isinstance(target.slice, ast.Constant):
                out[target.slice.value] = ast.unparse(node.value)
    return out


def _imports(tree: ast.Module) -> dict[str, str]:
    """{local name: qualified name} of every import in the module, nested ones included."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name
    return out


def _kwargs(nemo: Sources, qualified: str, depth: int = 0) -> tuple[list[str], str]:
    """(keyword arguments, source) of a class: NeMo's from the wheel, following **kwargs to the base."""
    if qualified in EXTERNAL:
        return EXTERNAL[qualified]
    module, _, cls = qualified.rpartition(".")
    if depth > 4 or not nemo.module(module):
        raise RuntimeError(f"optimizer class {qualified} is neither in the wheel nor recorded in EXTERNAL")
    params, var_kw, bases = init_params(nemo, module, cls)
    names = [p for p, _ in params]
    source = f"{module}.{cls}.__init__"
    if var_kw and bases:
        imports = _imports(nemo.module(module)[0])
        base = bases[0]
        head, _, rest = base.partition(".")
        base_q = f"{imports[head]}.{rest}" if rest and head in imports else imports.get(base, f"{module}.{base}")
        more, base_source = _kwargs(nemo, base_q, depth + 1)
        names += [n for n in more if n not in names]
        source += f" and its base {base_source}"
    return names, source


def optimizer_keys(nemo: Sources) -> dict[str, list[tuple[str, str]]]:
    """{keyword: [(optim.name, source), ...]} over every optimizer of the release's registry."""
    tree = nemo.module(OPTIMIZERS_MODULE)[0]
    imports = _imports(tree)
    out: dict[str, list[tuple[str, str]]] = {}
    for name, expr in sorted(_registry(nemo).items()):
        head, _, rest = expr.partition(".")
        qualified = imports.get(head, f"{OPTIMIZERS_MODULE}.{head}")
        if rest:  # optim.SGD, adadelta.Adadelta: attribute of an imported module
            qualified = f"{qualified}.{rest}"
        if qualified.startswith("torch.optim.") and qualified.count(".") == 2 and rest:
            qualified = f"torch.optim.{rest}"
        kwargs, source = _kwargs(nemo, qualified)
        for kw in kwargs:
            out.setdefault(kw, []).append((name, source))
    return out


def scheduler_params(nemo: Sources) -> dict[str, dict]:
    """{key: schema} over the fields of every scheduler params dataclass (nemo/core/config/schedulers.py):
    NeMo builds the scheduler from these, so warmup_steps is Optional[float], not an int."""
    found = nemo.module(SCHEDULERS_MODULE)
    if not found:
        return {}
    reader = Reader(nemo)
    out: dict[str, list[dict]] = {}
    for cls in found[0].body:
        if isinstance(cls, ast.ClassDef) and cls.name.endswith("Params"):
            for key, sub in reader.dataclass_schema(SCHEDULERS_MODULE, cls)["properties"].items():
                typed = {k: v for k, v in sub.items() if k in ("type", "enum", "anyOf")}
                if typed and typed not in out.setdefault(key, []):
                    out[key].append(typed)
    return {k: (combine(v) or {}) for k, v in out.items()}
