"""`runrepo import` keeps what the source trained.

The source ran NeMo's default config of its release with the command's overrides on top. The run file
import writes sits on layers (base.yaml, a model preset) that set values of their own; so the run file
is composed as it stands and its `parameters` compared with the source's config, key by key. Where a
layer would change a value, the source's value is written back into the run file; what cannot be
written back (a value the layers derive, a file the legacy command downloaded) is reported as
`attention`. A model layer is chosen only when every key it sets equals the source's.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from ..compose import gate
from ..compose.engine import compose
from ..compose.layers import RUNS
from ..compose.resolve import resolve, resolve_parameters
from ..errors import RunrepoError
from . import runfile as rf


class _Absent:
    def __repr__(self) -> str:
        return "(not set)"


ABSENT = _Absent()
# Every release's megatron_gpt_config.yaml has trainer.devices: 1 and num_nodes: 1; runs/nemo/ nulls
# them so that the resolve step derives them. A source that did not override them ran with these.
NEMO_WORLD = {("trainer", "devices"): 1, ("trainer", "num_nodes"): 1}
DERIVED = {("trainer", "devices"): "GPUs per node of the cluster", ("trainer", "num_nodes"): "compute.nodes"}
# A key a layer adds that the source's config lacks can be written as null only where null is what its
# absence meant: Lightning's Trainer(max_time=None) is the default (no time limit).
NULL_IS_ABSENT = {("trainer", "max_time")}
CHECK_FAMILIES = ("batch", "parallel", "moe", "nemo", "world")  # rules about NeMo's own settings


def flatten(tree, prefix: tuple = ()) -> dict:
    """Leaves by key path; lists and empty mappings are leaves."""
    out: dict = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out.update(flatten(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


def put(tree: dict, path: tuple, value) -> None:
    for k in path[:-1]:
        nxt = tree.get(k)
        if not isinstance(nxt, dict):
            nxt = tree[k] = {}
        tree = nxt
    tree[path[-1]] = value


def drop(tree: dict, path: tuple) -> None:
    for k in path[:-1]:
        tree = tree.get(k) if isinstance(tree, dict) else None
    if isinstance(tree, dict):
        tree.pop(path[-1], None)


def merge(into: dict, other: dict) -> None:
    for k, v in other.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


def same(a, b) -> bool:
    """Equal as NeMo reads them: 6e-4 == 0.0006, but True is not 1 and '16' is not 16."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def source_config(defaults: dict, legacy: dict | None, overrides: list[tuple[tuple, object, bool]]) -> dict:
    """What the source ran, unresolved: the release's defaults, its `parameters`, then its overrides."""
    cfg = copy.deepcopy(defaults)
    trainer = cfg.get("trainer")
    for (_, key), value in NEMO_WORLD.items():
        if isinstance(trainer, dict) and trainer.get(key) is None:
            trainer[key] = value
    merge(cfg, legacy or {})
    for path, value, delete in overrides:
        drop(cfg, path) if delete else put(cfg, path, copy.deepcopy(value))
    return cfg


def differences(source: dict, run: dict) -> list[tuple[tuple, object, object]]:
    """(path, source value, run value) of every leaf that differs, in the run's key order."""
    paths = list(run) + [p for p in source if p not in run]
    out = []
    for p in paths:
        was, now = source.get(p, ABSENT), run.get(p, ABSENT)
        if same(was, now) or (p in NULL_IS_ABSENT and {id(was), id(now)} <= {id(ABSENT), id(None)}):
            continue
        out.append((p, was, now))
    return out


class Draft:
    """The run file being written, composed on the repository's layers without touching the disk."""

    def __init__(self, source, name: str, text: str):
        self.source, self.name, self.text = source, name, text
        self.repo_root, self.runs_dir = source.repo_root, source.runs_dir

    def layer(self, name: str, cited_by=None):
        if name == self.name:
            return gate.load_text_layer(self.text, f"{RUNS}/{name}.yaml", name)
        return self.source.layer(name, cited_by)

    def names(self) -> list[str]:
        return self.source.names()


def show(v) -> str:
    """A value as the run file would write it (null, true, 2e-4, a string unquoted)."""
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    return repr(v) if not isinstance(v, str) or not v else v


def _dotted(path: tuple) -> str:
    return "parameters." + ".".join(map(str, path))


class Keep:
    """Mixed into the importer's builder: needs imp, source, at, params, nemo_release, src_raw, src_flat,
    override_lines, noted (parameter paths an attention note already covers)."""

    def keep_effective(self, spec: rf.RunSpec) -> None:
        if self.src_flat is None:
            return
        known = rf.options(self.source, "cluster")
        standin = spec.cluster if spec.cluster in known else self.standin_cluster(known)
        name, kept = f"experiments/{spec.name}", set()
        for rounds in range(4):  # each round writes back what still differs; the last only composes
            draft = replace(spec, cluster=standin) if standin else spec
            try:
                resolved = resolve(compose(Draft(self.source, name, rf.text(draft)), name))
            except (RunrepoError, RecursionError) as e:
                self.imp.add("attention", 1, f"the run file does not compose on this repository's layers ({e}): its "
                             "NeMo settings could not be compared with the source's")
                return
            run = flatten(resolved.run.get("parameters") or {})
            todo = [d for d in differences(self.src_flat, run) if d[0] not in self.noted and d[0] not in kept]
            if not todo or rounds == 3:
                break
            for path, was, now in todo:
                self.settle(spec, resolved, path, was, now, kept)
        for path, was, now in differences(self.src_flat, flatten(resolved.run.get("parameters") or {})):
            if path not in self.noted:
                self.imp.add("attention", self.line_for(path), f"{_dotted(path)} is {show(now)} in the run, "
                             f"{show(was)} in the source: it still differs")
        self.check_note(resolved)

    def settle(self, spec, resolved, path: tuple, was, now, kept: set) -> None:
        """Write the source's value back, or say why it cannot be."""
        who = resolved.origin(("parameters",) + path).file
        line = self.line_for(path)
        if path in DERIVED:
            self.noted.add(path)
            self.imp.add("attention", line, f"{_dotted(path)} is {show(now)} in the run ({DERIVED[path]}, derived by "
                         f"the layers), {show(was)} in the source: a run file cannot set it otherwise")
            return
        if was is ABSENT and path not in NULL_IS_ABSENT:
            self.noted.add(path)
            self.imp.add("attention", line, f"{_dotted(path)}: {who} sets {show(now)}, a key the source's config did "
                         "not have (a run file cannot remove it): check that it means what the source meant")
            return
        value = None if was is ABSENT else self.src_raw.get(path, was)
        put(spec.parameters, path, rf.Flow(value) if isinstance(value, list) else copy.deepcopy(value))
        kept.add(path)
        origin = "the source's override" if path in self.override_lines else f"NeMo {self.nemo_release}'s default"
        if was is ABSENT:
            origin = "the source did not set it"
        self.imp.add("kept", line, f"{_dotted(path)}: {show(value)} ({origin}) written into the run file, where "
                     f"{who} would set {show(now)}")

    def line_for(self, path: tuple) -> int:
        return self.override_lines.get(path) or self.at("image") or 1

    def standin_cluster(self, known: list[str]) -> str | None:
        """A cluster of this repository with the GPUs per node assumed, to compose an unchosen cluster's run."""
        fit = [c for c in known if rf.cluster_info(self.source, c)[0] == self.gpn]
        return (fit or known or [None])[0]

    def check_note(self, resolved) -> None:
        """What check will refuse in the source's own values (NeMo refuses them as well)."""
        from ..rules import all_rules, run_rules
        from ..rules.context import RunCtx

        families = {r.id for r in all_rules().values() if r.family in CHECK_FAMILIES}
        for f in run_rules(RunCtx(resolved, {}), only=families):
            if f.severity == "error":
                where = f"{f.file}:{f.line}" if f.line else f.file
                self.imp.add("attention", self.at("command") or 1,
                             f"check refuses the source's own values: error[{f.rule}] {f.message} ({where})")


def resolved_source(cfg: dict, label: str) -> dict | None:
    """The source's config with its interpolations resolved, flattened; None when it does not resolve."""
    try:
        return flatten(resolve_parameters(cfg, label))
    except (RunrepoError, RecursionError):
        return None
