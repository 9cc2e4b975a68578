"""What a rule sees: one expanded run, its NeMo release, policy, and where each value came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from ..compose.layers import Origin
from ..compose.resolve import Resolved
from ..releases import is_bare_digest, release_of
from ..validate.policy import Policy

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath

    Where = str | KeyPath  # a dotted path ("compute.gpus", "runrepo.gpus_per_node") or a key tuple


def _keys(path: Where) -> KeyPath:
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


@dataclass
class RunCtx:
    resolved: Resolved
    policy: Policy = field(default_factory=Policy)  # runs/policy.yaml; {} when there is none
    release: str | None = field(init=False)  # the image's NeMo release ("2.0"), None when unknown

    def __post_init__(self) -> None:
        image = self.run.get("image")
        self.release = release_of(image) if isinstance(image, str) else None
        if self.release is None and is_bare_digest(image):  # the /nemo layer declares it (image-release warns)
            self.release = str(self.tool.get("nemo_release") or "") or None

    @property
    def run(self) -> dict[str, Json]:
        return self.resolved.run

    @property
    def kind(self) -> str:
        """training (runs/experiments/) or data (runs/data/): which rules judge the run."""
        return "data" if self.resolved.is_data else "training"

    @property
    def tool(self) -> dict[str, Json]:
        return self.resolved.tool

    @property
    def run_file(self) -> str:
        return self.resolved.composed.run

    @property
    def choices(self) -> dict[str, str]:
        return self.resolved.composed.choices

    @property
    def params(self) -> dict[str, Json]:
        p = self.run.get("parameters")
        return p if isinstance(p, dict) else {}

    def get(self, path: Where, default: Json = None) -> Json:
        """Value at a dotted path or key tuple, `default` when absent or not reachable."""
        keys = _keys(path)
        node: Json = self.tool if keys and keys[0] == "runrepo" else self.run
        keys = keys[1:] if keys and keys[0] == "runrepo" else keys
        for k in keys:
            if isinstance(node, dict) and k in node:
                node = node[k]
            elif isinstance(node, list) and isinstance(k, int) and 0 <= k < len(node):
                node = node[k]
            else:
                return default
        return node

    def p(self, dotted: str, default: Json = None) -> Json:
        """A value under parameters: ctx.p('model.num_layers')."""
        return self.get(("parameters", *dotted.split(".")), default)

    @overload
    def int_p(self, dotted: str) -> int | None: ...
    @overload
    def int_p(self, dotted: str, default: int) -> int: ...
    def int_p(self, dotted: str, default: int | None = None) -> int | None:
        """An integer under parameters (not a bool), else `default`."""
        v = self.p(dotted, default)
        return v if isinstance(v, int) and not isinstance(v, bool) else default

    def origin(self, path: Where) -> Origin:
        return self.resolved.origin(_keys(path))

    def where(self, path: Where) -> str:
        """`value (file:line)` for a message that names several values and their layers."""
        o = self.origin(_keys(path))
        return f"{o.file}:{o.line}" if o.line else o.file

    def blame(self, *paths: Where) -> KeyPath:
        """Of values that conflict, the one the run file under check sets (the line its author edited),
        else the first: a finding belongs on the line that can be changed for this run alone."""
        keys = [_keys(p) for p in paths]
        return next((k for k in keys if self.origin(k).file == self.run_file), keys[0])

    def at(self, path: Where, blamed: KeyPath) -> str:
        """` (file:line)` of `path` for a message, or '' when `path` is the blamed value (the finding's line)."""
        keys = _keys(path)
        return "" if keys == tuple(blamed) else f" ({self.where(keys)})"

    # Parallel layout, read once; None when a value is missing or not an integer.
    @property
    def world_size(self) -> int | None:
        d, n = self.int_p("trainer.devices"), self.int_p("trainer.num_nodes")
        return d * n if d and n else None

    @property
    def tp(self) -> int:
        return self.int_p("model.tensor_model_parallel_size", 1) or 1

    @property
    def pp(self) -> int:
        return self.int_p("model.pipeline_model_parallel_size", 1) or 1

    @property
    def cp(self) -> int:
        return self.int_p("model.context_parallel_size", 1) or 1

    @property
    def dp(self) -> int | None:
        ws = self.world_size
        mp = self.tp * self.pp * self.cp
        return ws // mp if ws and ws % mp == 0 else None
