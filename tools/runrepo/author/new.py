"""`runrepo new`: a run file in the bundled runs' form, from choices that exist under runs/."""

from __future__ import annotations

import math
from pathlib import Path

from ..compose.layers import TreeSource
from ..errors import RunrepoError
from . import runfile as rf


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


def data_prefix(value: str | None) -> list:
    """`/path` -> [1.0, /path]; `0.7,/a,0.3,/b` -> a blend (NeMo's weight, path list)."""
    if not value:
        return rf.Flow([1.0, rf.DEFAULT_DATA])
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        return rf.Flow([1.0, parts[0]])
    if len(parts) % 2:
        raise RunrepoError("usage", f"--data-prefix {value!r}: a blend is weight,path pairs")
    out = []
    for w, p in zip(parts[::2], parts[1::2], strict=True):
        try:
            out += [float(w), p]
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
    nemo = nemo or (rf.nemo_options(source) or ["v2_0"])[-1]  # the newest NeMo release by default
    for group, value, flag in (
        ("cluster", cluster, "--cluster"),
        ("node", node, "--node"),
        ("model", model, "--model"),
        ("nemo", nemo, "--nemo"),
    ):
        rf.check_choice(source, group, value, flag)
    path = rf.run_path(source.repo_root, name)
    if path.exists():
        raise RunrepoError("usage", f"{path.relative_to(source.repo_root)} exists already; choose another name")
    gpn, gpu_type = rf.cluster_info(source, cluster)
    replica = model_parallel(source, model)
    if nodes is None:
        nodes = default_nodes(node, gpn, replica)
    if nodes < 1:
        raise RunrepoError("usage", "--nodes must be at least 1")
    if node == "single_node" and nodes != 1:
        raise RunrepoError("usage", f"{model} on {nodes} nodes needs --node multi_node (single_node is one node)")
    if node == "multi_node" and nodes < 2:
        raise RunrepoError("usage", "--node multi_node needs --nodes 2 or more (use single_node for one node)")
    gpus = nodes * gpn
    where = "one node" if nodes == 1 else f"{nodes} nodes"
    spec = rf.RunSpec(
        name=name,
        nemo=nemo,
        cluster=cluster,
        node=node,
        model=model,
        nodes=nodes,
        comment=[f"{model} on the {gpus} x {gpu_type} GPUs of {where} of {cluster} (written by `runrepo new`)."],
        parameters={"model": {"data": {"data_prefix": data_prefix(data)}}},
    )
    return path, rf.text(spec)
