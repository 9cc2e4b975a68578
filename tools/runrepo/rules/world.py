"""World size: compute, cluster, trainer and launch profile must describe the same processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import Hit, rule

if TYPE_CHECKING:
    from .context import RunCtx


@rule(
    "world-size",
    "compute.gpus, compute.nodes x GPUs per node, and trainer.devices x trainer.num_nodes agree",
    example="defaults:\n  - /node: multi_node\ncompute:\n  gpus: 12  #<\n  nodes: 2",
    fix="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 2   # gpus is derived: nodes x GPUs per node",
)
def world_size(ctx: RunCtx) -> Iterator[Hit]:
    nodes, gpus, gpn = ctx.get("compute.nodes"), ctx.get("compute.gpus"), ctx.get("runrepo.gpus_per_node")
    devices, num_nodes = ctx.p("trainer.devices"), ctx.p("trainer.num_nodes")
    if not isinstance(gpn, int):
        yield Hit(("compute",), "GPUs per node unknown: the cluster layer must set runrepo.gpus_per_node")
        return
    if isinstance(gpus, int) and isinstance(nodes, int) and gpus != nodes * gpn:
        yield Hit(
            ("compute", "gpus"),
            f"compute.gpus={gpus} but compute.nodes={nodes} x {gpn} GPUs per node "
            f"({ctx.where('runrepo.gpus_per_node')}) = {nodes * gpn}",
        )
    if isinstance(gpus, int) and gpus % gpn:
        yield Hit(("compute", "gpus"), f"compute.gpus={gpus} is not a whole number of {gpn}-GPU nodes")
    if devices != gpn:
        yield Hit(
            ("parameters", "trainer", "devices"),
            f"trainer.devices={devices} but each node has {gpn} GPUs ({ctx.where('runrepo.gpus_per_node')}); "
            "one process per GPU needs trainer.devices = GPUs per node (leave it null to derive it)",
        )
    if nodes is not None and num_nodes != nodes:
        yield Hit(
            ("parameters", "trainer", "num_nodes"),
            f"trainer.num_nodes={num_nodes} but compute.nodes={nodes} ({ctx.where('compute.nodes')}); "
            "Lightning would build a world of the wrong size (leave it null to derive it)",
        )


@rule(
    "launch-profile",
    "the launch profile fits the node count (single_node on 1 node, multi_node on 2 or more)",
    example="defaults:\n  - /node: single_node\ncompute:\n  nodes: 2  #<",
    fix="defaults:\n  - /node: multi_node\ncompute:\n  nodes: 2",
)
def launch_profile(ctx: RunCtx) -> Iterator[Hit]:
    profile, nodes = ctx.choices.get("node"), ctx.get("compute.nodes")
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        yield Hit(("compute", "nodes"), f"compute.nodes must be a positive integer, got {nodes!r}")
    elif profile == "single_node" and nodes != 1:
        yield Hit(("compute", "nodes"), f"node profile single_node with compute.nodes={nodes}: use /node: multi_node")
    elif profile == "multi_node" and nodes < 2:
        yield Hit(("compute", "nodes"), "node profile multi_node on one node: use /node: single_node", "warning")
