"""The documented resolve step that turns a composition into the expanded run.

1. Everything but `parameters` resolves with the run (without `parameters`) as its root.
2. Derived values are filled where a layer left them null: `compute.gpus` =
   `compute.nodes` x `runrepo.gpus_per_node`; `parameters.trainer.num_nodes` =
   `compute.nodes`; `parameters.trainer.devices` = `runrepo.gpus_per_node`. A layer that
   sets one of them explicitly keeps it, and the world-size rule checks it agrees.
3. `parameters` resolves with itself as the root, as NeMo resolves it, with NeMo's
   resolvers (`multiply`, `sum`, and the launcher's `divide_ceil`, `divide_floor`).
4. The tool-only `runrepo` section is taken out; the rest is the mcli run.
5. Datasets: a data run (runs/data/) gets its command written from its recipe (`parameters`, see
   dataprep.py) where its layers left `command` null; a training run's `data_prefix` entries are
   linked (datasets.Catalog): `data: NAME` becomes the prefix data run NAME writes, and each path is
   matched to a data run or to runs/datasets.yaml. Hydra composes `data: NAME` as the mapping it is;
   this step, applied to both compositions, replaces it, so parity holds.

Only those four resolvers exist while resolving: `oc.env` and every other resolver that
reads the environment, files or runs code is unknown, so nothing from the CI
environment can reach a payload.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import RunrepoError
from . import dataprep, interp
from .datalinks import Links
from .engine import Composed, Provenance
from .gate import Json, KeyPath
from .layers import Origin

if TYPE_CHECKING:
    from omegaconf import Container

TOOL_KEY = "runrepo"
ORDER = (
    "name",
    "image",
    "command",
    "compute",
    "scheduling",
    "integrations",
    "env_variables",
    "parameters",
    "metadata",
)


def _num(x: Json) -> int | float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return float(x) if "." in str(x) or "e" in str(x).lower() else int(x)
    return x


def _multiply(*xs: Json) -> int | float:
    out: int | float = 1
    for x in xs:
        out *= _num(x)
    return out


def _finite(fn: interp.Resolver) -> interp.Resolver:
    """A computed NaN or infinity fails like the gate refuses a written one: they are not JSON."""

    def call(*xs: Json) -> Json:
        out = fn(*xs)
        if isinstance(out, float) and not math.isfinite(out):
            raise OverflowError(f"the result is {out}: NaN and infinities cannot be submitted")
        return out

    return call


RESOLVERS: dict[str, interp.Resolver] = {
    "multiply": _finite(_multiply),
    "sum": _finite(lambda *xs: sum(_num(x) for x in xs)),
    "divide_ceil": lambda a, b: int(math.ceil(_num(a) / _num(b))),
    "divide_floor": lambda a, b: int(math.floor(_num(a) / _num(b))),
}
ENV_READING = ("oc.env", "oc.decode", "oc.create", "env", "hydra", "now", "eval", "python")


class Linker(Protocol):
    """What links a training run's datasets (datasets.Catalog; passed in, so this module does not import it)."""

    def link(self, params: dict[str, Any], composed: Composed) -> Links: ...

    def claims(self, params: Any, composed: Composed) -> Links: ...


@dataclass
class Resolved:
    """The expanded run (mcli shape), the tool section, and where every value came from."""

    run: dict[str, Json]
    tool: dict[str, Json]
    composed: Composed
    derived: dict[KeyPath, KeyPath]  # key path -> path of the value it was derived from
    links: Links | None = None  # a training run's data_prefix entries; a data run's other claimants (step 5)
    dataset: str = ""  # a data run: what its dataset is built from (dataprep.dataset_digest)

    @property
    def is_data(self) -> bool:
        """A data run (runs/data/), not a training run."""
        return dataprep.is_data_file(self.composed.run)

    @property
    def files(self) -> list[str]:
        """Every file the expansion read: the layers in merge order, then what linking its data read."""
        extra = [f for f in (self.links.files if self.links else []) if f not in self.composed.layers]
        return [*self.composed.layers, *extra]

    @property
    def depends(self) -> list[str]:
        """The files whose change affects the run: its layers, and the data runs (or runs/datasets.yaml) its
        datasets resolved to. Narrower than `files`: a data run added elsewhere affects no run that reads
        another dataset, though looking a path up read it."""
        extra = [f for f in (self.links.matched if self.links else []) if f not in self.composed.layers]
        return [*self.composed.layers, *extra]

    @property
    def prov(self) -> Provenance:
        return self.composed.prov

    def origin(self, path: KeyPath) -> Origin:
        path = tuple(path)
        if path in self.derived:
            path = self.derived[path]
        return self.composed.origin(path)


@contextlib.contextmanager
def _only_nemo_resolvers() -> Iterator[None]:
    """Swap OmegaConf's global resolver table for NeMo's four for the duration of a resolve."""
    from omegaconf import OmegaConf
    from omegaconf.basecontainer import BaseContainer

    saved = BaseContainer._resolvers
    BaseContainer._resolvers = {}
    try:
        for name, fn in RESOLVERS.items():
            OmegaConf.register_new_resolver(name, fn)
        yield
    finally:
        BaseContainer._resolvers = saved


_KEY_RE = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _key_path(full_key: str) -> KeyPath:
    return tuple(int(i) if i else k for i, k in _KEY_RE.findall(full_key or ""))


def _resolve_error(e: Exception, composed: Composed, prefix: KeyPath) -> RunrepoError:
    from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

    path = prefix + _key_path(getattr(e, "full_key", "") or "")
    at = composed.origin(path)
    msg = str(e).splitlines()[0] if str(e) else type(e).__name__
    rule = "interpolation"
    m = re.search(r"Unsupported interpolation type (\S+)", msg)
    if m:
        name = m.group(1)
        rule = "interpolation-resolver"
        why = "it reads the environment, files or runs code" if name.startswith(ENV_READING) else "it is unknown"
        msg = f"resolver `{name}` is refused: {why}; allowed here: {', '.join(RESOLVERS)}"
    elif isinstance(e, InterpolationResolutionError) or isinstance(e, OmegaConfBaseException):
        if prefix == ("parameters",) and "not found" in msg.lower():
            msg += " (interpolations inside `parameters` resolve with `parameters` as their root, as in NeMo)"
    return RunrepoError(rule, f"{'.'.join(map(str, path))}: {msg}", at.file, at.line, at.col)


def _to_plain(cfg: Container, composed: Composed, prefix: KeyPath) -> Json:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except OmegaConfBaseException as e:
        raise _resolve_error(e, composed, prefix) from None
    except (ValueError, TypeError, ZeroDivisionError, ArithmeticError) as e:  # a resolver's own failure
        raise _resolve_error(e, composed, prefix) from None


def _has_interpolation(value: Json) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_interpolation(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_interpolation(v) for v in value)
    return False


def _plain(value: Json, composed: Composed, prefix: KeyPath) -> Json:
    """Resolve `value` with itself as root: the fast path first, OmegaConf for everything else."""
    if not _has_interpolation(value):
        return _copy(value)
    try:
        return interp.resolve_tree(value, RESOLVERS)
    except (interp.Unsupported, ValueError, TypeError, ArithmeticError):
        pass  # OmegaConf resolves it, or words the error
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    with _only_nemo_resolvers():
        try:
            cfg = OmegaConf.create(value)
        except OmegaConfBaseException as e:
            raise _resolve_error(e, composed, prefix) from None
        return _to_plain(cfg, composed, prefix)


def _copy(value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _derive(top: dict[str, Json], params: Json, composed: Composed) -> dict[KeyPath, KeyPath]:
    """Fill the values that follow from the run; return derived path -> source path."""
    derived: dict[KeyPath, KeyPath] = {}
    tool = top.get(TOOL_KEY) or {}
    compute = top.get("compute") if isinstance(top.get("compute"), dict) else None
    if compute is None:
        return derived
    nodes, gpn = compute.get("nodes"), tool.get("gpus_per_node") if isinstance(tool, dict) else None
    ints = isinstance(nodes, int) and isinstance(gpn, int) and not isinstance(nodes, bool)
    if compute.get("gpus") is None and ints:
        compute["gpus"] = nodes * gpn
        derived[("compute", "gpus")] = ("compute", "nodes")
    trainer = params.get("trainer") if isinstance(params, dict) else None
    if isinstance(trainer, dict):
        for key, value, src in (
            ("num_nodes", nodes, ("compute", "nodes")),
            ("devices", gpn, (TOOL_KEY, "gpus_per_node")),
        ):
            if key in trainer and trainer[key] is None and value is not None:
                trainer[key] = value
                derived[("parameters", "trainer", key)] = src
    return derived


# Sections the resolve step and the rules look inside. A section of the wrong shape is one
# finding here, instead of a cascade of confusing ones from every rule that reads it.
SECTIONS: dict[str, type] = {
    "compute": dict,
    "parameters": dict,
    TOOL_KEY: dict,
    "scheduling": dict,
    "env_variables": dict,
    "metadata": dict,
    "integrations": list,
}
REQUIRED_SHAPE = ("compute", "parameters", TOOL_KEY)  # null is no way out for these


def _check_sections(top: dict[str, Json], composed: Composed) -> None:
    for key, kind in SECTIONS.items():
        if key not in top or isinstance(top[key], kind) or (top[key] is None and key not in REQUIRED_SHAPE):
            continue
        want = "a mapping" if kind is dict else "a list"
        got = "null" if top[key] is None else type(top[key]).__name__
        hint = " (the list of {key, value} is mcli's retired form: write NAME: value)" if key == "env_variables" else ""
        at = composed.origin((key,))
        raise RunrepoError("section-type", f"`{key}` must be {want}, not {got}{hint}", at.file, at.line, at.col)


def resolve(composed: Composed, catalog: Linker | None = None) -> Resolved:
    """Apply the resolve step above to a composition (`catalog`: the datasets of its source, for step 5)."""
    data = composed.data
    top_raw = {k: v for k, v in data.items()}
    params_raw = top_raw.get("parameters")
    # before resolving (a scalar `runrepo` breaks every `${runrepo.x}`), then after for `${...}` sections
    _check_sections({k: v for k, v in top_raw.items() if not (isinstance(v, str) and "${" in v)}, composed)
    top = _plain({k: v for k, v in top_raw.items() if k != "parameters"}, composed, ())
    _check_sections({**top, **({"parameters": params_raw} if "parameters" in top_raw else {})}, composed)
    params = _copy(params_raw) if isinstance(params_raw, dict) else params_raw
    derived = _derive(top, params, composed) if isinstance(params, dict) or params is None else {}
    if "parameters" in top_raw:
        top["parameters"] = _plain(params, composed, ("parameters",)) if isinstance(params, dict) else params
    tool = top.pop(TOOL_KEY, None)
    tool = tool if isinstance(tool, dict) else {}
    links, dataset = None, ""
    if dataprep.is_data_file(composed.run):
        if "command" in top and top["command"] is None:
            top["command"] = dataprep.command(top.get("parameters"), tool)
            derived[("command",)] = ("parameters",)
        dataset = dataprep.dataset_digest(top)
        links = catalog.claims(top.get("parameters"), composed) if catalog is not None else None
    elif catalog is not None and isinstance(top.get("parameters"), dict):
        links = catalog.link(top["parameters"], composed)
    run = {k: top[k] for k in ORDER if k in top}
    run.update({k: v for k, v in top.items() if k not in run})
    return Resolved(run=run, tool=tool, composed=composed, derived=derived, links=links, dataset=dataset)


def resolve_parameters(params: dict[str, Json], file: str = "") -> Json:
    """A NeMo config resolved as step 3 resolves `parameters` (itself as root, NeMo's resolvers), for a
    config that no composition produced: `runrepo import` compares what a hand-written run ran."""
    return _plain(params, Composed(run=file, data={}, prov={}), ("parameters",))
