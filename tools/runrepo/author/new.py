"""`runrepo new`: a run file in the bundled runs' form, from choices that exist under runs/."""

from __future__ import annotations

import math
from pathlib import Path

from ..compose import gate
from ..compose.layers import TreeSource
from ..errors import RunrepoError
from . import layout as lay
from . import runfile as rf

PARALLEL_KEYS = ("tensor_model_parallel_size", "pipeline_model_parallel_size", "expert_model_parallel_size")


def model_parallel(source: TreeSource, model: str) -> int:
    """GPUs one model replica spans (TP x PP x CP of the preset): the world size must be a multiple."""
    m = rf.lookup(rf.layer_data(source, f"model/{model}"), "parameters.model", {}) or {}
    size = 1
    for key in ("tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size"):
        v = m.get(key)
        size *= v if isinstance(v, int) and v > 0 else 1
    return size


def default_nodes(node: str, gpn: int, replica: int) -> int:
    """The fewest nodes that hold whole model replicas (2 at least for multi_node)."""
    need = math.ceil(replica / gpn)
    while (need * gpn) % replica:
        need += 1
    return max(need, 2 if node == "multi_node" else 1)


def open_sizes(source: TreeSource, model: str) -> list[str]:
    """Parallel sizes the model layer leaves open (absent or null): `new` may choose them."""
    m = rf.lookup(rf.layer_data(source, f"model/{model}"), "parameters.model", {}) or {}
    keys = [k for k in PARALLEL_KEYS[:2] if m.get(k) is None]
    experts = m.get("num_moe_experts")
    if isinstance(experts, int) and experts > 1 and m.get(PARALLEL_KEYS[2]) is None:
        keys.append(PARALLEL_KEYS[2])
    return keys


def _model_keys(tree: dict, prefix: str = "") -> list[str]:
    """Dotted keys of a model layer's parameters.model, one level into its sections."""
    out = []
    for k, v in tree.items():
        out.append(prefix + k)
        if isinstance(v, dict) and not prefix:
            out += _model_keys(v, k + ".")
    return out


def nemo_with_keys(source: TreeSource, model: str) -> str:
    """The newest runs/nemo option whose NeMo schema knows every key the model layer sets (the newest
    when none knows them all: check then names the unknown keys)."""
    from ..validate import schema

    options = rf.nemo_options(source) or ["v2_0"]
    keys = _model_keys(rf.lookup(rf.layer_data(source, f"model/{model}"), "parameters.model", {}) or {})
    for opt in reversed(options):
        release = (rf.layer_data(source, f"nemo/{opt}").get("runrepo") or {}).get("nemo_release")
        name = schema.nemo_schema_name(str(release)) if release else None
        if name is None:
            continue
        props = schema.load(name).get("properties", {}).get("model", {})
        if all(_known(props, k.split(".")) for k in keys):
            return opt
    return options[-1]


def _known(props: dict, path: list[str]) -> bool:
    for k in path:
        inner = props.get("properties")
        if not isinstance(inner, dict) or not inner:
            return True  # a free-form section: nothing is unknown
        if k not in inner:
            return False
        props = inner[k]
    return True


class _WithRun(TreeSource):
    """The tree plus one run file that is not written yet (to estimate layouts before writing)."""

    def __init__(self, base: TreeSource, name: str, text: str):
        super().__init__(base.repo_root)
        self._base, self._name, self._text = base, name, text

    def layer(self, name, cited_by=None):
        if name == self._name:
            return gate.load_text_layer(self._text, f"runs/{name}.yaml", name)
        return self._base.layer(name, cited_by)

    def names(self):
        return sorted(set(self._base.names()) | {self._name})


def _limits(source: TreeSource) -> tuple:
    """(CUDA reserve, GPUs and GPU-hours a run may use without an approval) from runs/policy.yaml."""
    from ..validate import policy as pol

    p = pol.load(source)

    def num(key):
        v = p.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    return num("cuda_reserve_mib"), num("max_gpus_per_run"), num("max_gpu_hours_per_run")


def _entry(part: str) -> str | dict:
    """`data:NAME` -> {data: NAME} (a data run of this repository); anything else is a path."""
    return {"data": part[len("data:"):].strip()} if part.startswith("data:") else part


def data_prefix(value: str | None) -> list:
    """`/path` -> [1.0, /path]; `0.7,/a,0.3,/b` -> a blend (NeMo's weight, path list); `data:NAME` -> the
    dataset data run NAME writes."""
    if not value:
        return rf.Flow([1.0, rf.DEFAULT_DATA])
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        return rf.Flow([1.0, _entry(parts[0])])
    if len(parts) % 2:
        raise RunrepoError("usage", f"--data-prefix {value!r}: a blend is weight,path pairs")
    out = []
    for w, p in zip(parts[::2], parts[1::2], strict=True):
        try:
            out += [float(w), _entry(p)]
        except ValueError:
            raise RunrepoError("usage", f"--data-prefix {value!r}: {w!r} is not a weight") from None
    return rf.Flow(out)


def new_run(
    repo: Path,
    name: str,
    cluster: str,
    node: str,
    model: str,
    nodes: int | None = None,
    data: str | None = None,
    nemo: str | None = None,
) -> tuple[Path, str]:
    """(path, text) of the new run file; RunrepoError('usage') for a bad choice or an existing file."""
    why = rf.valid_name(name)
    if why:
        raise RunrepoError("usage", f"run name {why}")
    source = TreeSource(repo)
    if not source.runs_dir.is_dir():
        raise RunrepoError("usage", f"{repo}: no runs/ folder here (use --repo)")
    for group, value, flag in (
        ("cluster", cluster, "--cluster"),
        ("node", node, "--node"),
        ("model", model, "--model"),
    ):
        rf.check_choice(source, group, value, flag)
    nemo = nemo or nemo_with_keys(source, model)  # the newest release that knows the model's keys
    rf.check_choice(source, "nemo", nemo, "--nemo")
    path = rf.run_path(source.repo_root, name)
    if path.exists():
        raise RunrepoError("usage", f"{path.relative_to(source.repo_root)} exists already; choose another name")
    gpn, gpu_type = rf.cluster_info(source, cluster)
    replica = model_parallel(source, model)
    asked = nodes
    if nodes is None:
        nodes = default_nodes(node, gpn, replica)
    if nodes < 1:
        raise RunrepoError("usage", "--nodes must be at least 1")
    if node == "single_node" and nodes != 1:
        raise RunrepoError("usage", f"{model} on {nodes} nodes needs --node multi_node (single_node is one node)")
    if node == "multi_node" and nodes < 2:
        raise RunrepoError("usage", "--node multi_node needs --nodes 2 or more (use single_node for one node)")
    spec = rf.RunSpec(name=name, nemo=nemo, cluster=cluster, node=node, model=model, nodes=nodes, comment=[],
                      parameters={"model": {"data": {"data_prefix": data_prefix(data)}}})
    chosen = choose_layout(source, spec, gpn, asked, f"{model} on {cluster}")
    if chosen is not None:
        spec.nodes = chosen.nodes
        spec.parameters["model"] = dict(chosen.sizes) | spec.parameters["model"]
    where = "one node" if spec.nodes == 1 else f"{spec.nodes} nodes"
    spec.comment = [f"{model} on the {spec.nodes * gpn} x {gpu_type} GPUs of {where} of {cluster} "
                    "(written by `runrepo new`)."]
    if chosen is not None and chosen.peak_gib is not None:
        spec.comment.append(f"Layout: {chosen.why}; estimated peak {chosen.peak_gib:.1f} of {chosen.usable_gib:.1f} "
                            "GiB per GPU (`runrepo explain`).")
    return path, rf.text(spec)


def choose_layout(source: TreeSource, spec: rf.RunSpec, gpn: int, asked: int | None, label: str):
    """The layout (nodes, open parallel sizes) the run is written with, or None when the run does not
    compose (check then reports why)."""
    from ..check import expand

    run_name = f"experiments/{spec.name}"
    resolved, _ = expand(_WithRun(source, run_name, rf.text(spec)), run_name)
    if resolved is None:
        return None
    reserve, max_gpus, max_gpu_hours = _limits(source)
    hours = (resolved.run.get("scheduling") or {}).get("max_duration")
    if max_gpu_hours and isinstance(hours, (int, float)) and hours > 0:  # GPUs x max_duration within the limit
        max_gpus = min(max_gpus or math.inf, int(max_gpu_hours // hours))
    return lay.choose(resolved.run, resolved.tool, gpn, open_sizes(source, spec.model), spec.node, asked,
                      reserve, max_gpus, label)
