"""`runrepo import`: a hand-written mcli run YAML -> a run file on this repository's layers, and a report.

Every field of the legacy file ends up in one of four places, each reported with its line:
mapped (a layer or a run-file key now says it), kept (copied verbatim into the run file),
dropped (the layers do it differently; says why), attention (the author must decide: a
placeholder, an unknown cluster, a launch that did not do what it seemed to, a setting that
still differs from what the source ran). Placeholders are written as they were, so `runrepo
check` refuses the file until they are filled in. The run file trains what the source trained:
fidelity.py writes back every value a layer would change (and says what it could not).
A file that is not a NeMo Megatron GPT run is reported field by field and nothing is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..compose import gate
from ..compose.layers import TreeSource
from ..compose.resolve import ORDER
from ..errors import RunrepoError
from ..releases import NEMO_IMAGE, image_tag, release_of
from ..rules.platform import PLACEHOLDERS
from . import fidelity
from . import runfile as rf
from .carry import Carry
from .command import SCRIPT, line_of, read
from .fidelity import Keep

RETIRED = {
    "run_name": "name",
    "gpu_num": "compute.gpus",
    "cluster": "compute.cluster",
    "gpu_type": "compute.gpu_type",
    "cpus": "compute.cpus",
}
MODERN = ORDER  # the modern top-level fields, in the order render writes them
DERIVED = {"trainer.devices": "GPUs per node of the cluster", "trainer.num_nodes": "compute.nodes"}


@dataclass
class Note:
    kind: str  # retired | mapped | kept | dropped | attention
    line: int
    message: str


@dataclass
class Imported:
    name: str = ""
    nemo: bool = False
    text: str = ""  # the run file; empty when nothing can be written
    notes: list[Note] = field(default_factory=list)

    def add(self, kind: str, line: int, message: str) -> None:
        self.notes.append(Note(kind, line, message))

    def count(self, kind: str) -> int:
        return sum(n.kind == kind for n in self.notes)


def _placeholder(value) -> str | None:
    for s in value if isinstance(value, list) else [value]:
        m = PLACEHOLDERS.search(s) if isinstance(s, str) else None
        if m:
            return m.group(0)
    return None


def import_legacy(path: Path, repo: Path, label: str | None = None) -> Imported:
    label = label or str(path)
    raw = gate.read_text(path, label)
    data, pos = gate.parse_yaml(raw, label)
    if not isinstance(data, dict):
        raise RunrepoError("import-form", "not an mcli run YAML: expected a mapping of fields", label, 1, 1)
    at = lambda *p: pos.get(tuple(p), (0, 0))[0]  # noqa: E731 - the legacy line of a key
    imp = Imported()
    for old, new in RETIRED.items():
        if old in data:
            shown = "(empty)" if data[old] is None else repr(data[old])
            imp.add("retired", at(old), f"`{old}` is retired: now `{new}` {shown}")
    env = data.get("env_variables")
    if isinstance(env, list):
        imp.add("retired", at("env_variables"), "`env_variables` as a list of {key, value} is retired: now a mapping")
    for key in data:
        if key not in MODERN and key not in RETIRED:
            imp.add("attention", at(key), f"`{key}` is not an mcli run field; not carried over")
    image, command = data.get("image"), data.get("command")
    command = command if isinstance(command, str) else ""
    is_nemo = (isinstance(image, str) and image.startswith(NEMO_IMAGE + ":")) or SCRIPT in command
    if not is_nemo:
        modern = [k for k in data if k in MODERN]
        retired = [k for k in data if k in RETIRED] + (["env_variables (list form)"] if isinstance(env, list) else [])
        imp.add(
            "fields",
            1,
            f"fields: modern {', '.join(modern) or '(none)'}; retired {', '.join(retired) or '(none)'}",
        )
        what = "a Composer config" if "composer" in command else "not a NeMo config"
        imp.add(
            "attention",
            at("image") or 1,
            f"not a NeMo Megatron GPT run (image {image!r}; the command does not start {SCRIPT}.py): "
            f"its `parameters` is {what}, and this repository's layers only describe NeMo GPT pretraining. "
            "Nothing written.",
        )
        return imp
    imp.nemo = True
    source = TreeSource(repo)
    if not source.runs_dir.is_dir():
        raise RunrepoError("usage", f"{repo}: no runs/ folder here (use --repo)")
    _Builder(imp, source, data, pos, raw.splitlines(), label, at).build()
    return imp


class _Builder(Carry, Keep):
    """One legacy file -> RunSpec, noting where each field went."""

    def __init__(self, imp, source, data, pos, raw_lines, label, at):
        self.imp, self.source, self.data, self.pos, self.raw, self.label, self.at = (
            imp,
            source,
            data,
            pos,
            raw_lines,
            label,
            at,
        )
        compute = data.get("compute") if isinstance(data.get("compute"), dict) else {}
        self.compute = dict(compute)
        self.top: dict = {}
        self.params: dict = {}
        self.overrides: list[tuple[tuple, object, bool]] = []  # (path, value, deleted) as the source applied them
        self.override_lines: dict[tuple, int] = {}
        self.noted: set[tuple] = set()  # parameter paths an attention note already covers
        self.nemo_release, self.defaults, self.gpn = "", {}, 8
        self.reads_parameters = False  # the command loads the mounted `parameters`, not NeMo's default config
        self.src_raw: dict = {}
        self.src_flat: dict | None = None

    def c(self, key: str):
        """A compute field, modern spelling first, then the retired top-level one."""
        retired = {"gpus": "gpu_num", "cluster": "cluster", "gpu_type": "gpu_type", "cpus": "cpus"}.get(key)
        if self.compute.get(key) is not None:
            return self.compute[key], self.at("compute", key)
        return self.data.get(retired) if retired else None, self.at(retired) if retired else 0

    def build(self) -> None:
        imp, add = self.imp, self.imp.add
        name = self.data.get("name") or self.data.get("run_name")
        line = self.at("name") or self.at("run_name")
        imp.name = rf.sanitize(str(name)) if name else rf.sanitize(Path(self.label).stem)
        if not name:
            add("attention", 1, f"the file has no name; named {imp.name!r} after the file")
        elif imp.name != name:
            add("attention", line, f"name {name!r} is not a valid platform name; written as {imp.name!r}")
        else:
            add("mapped", line, f"name: {imp.name}")
        nemo = self.nemo_option()
        cluster, gpn = self.cluster()
        self.gpn = gpn
        nodes = self.nodes(gpn)
        node = "single_node" if nodes == 1 else "multi_node"
        launch = self.launch(gpn, nodes)
        self.rest(node)
        self.source_settings()
        model = self.model(nemo)
        spec = rf.RunSpec(
            name=imp.name,
            nemo=nemo,
            cluster=cluster or "???",
            node=node,
            model=model,
            nodes=nodes,
            comment=[
                f"Imported by `runrepo import` from {Path(self.label).name}: see its report for what",
                "was mapped, kept verbatim, or needs a decision.",
            ],
            top=self.top,
            parameters=self.params,
            cluster_note=""
            if cluster in rf.options(self.source, "cluster")
            else "runrepo import: choose one of " + ", ".join(rf.options(self.source, "cluster")),
        )
        add("mapped", self.at("command"), f"launch: the {node} profile ({launch})")
        self.keep_effective(spec)
        imp.text = rf.text(spec)

    def source_settings(self) -> None:
        """The NeMo config the source ran (its release's defaults, `parameters` when read, the overrides)."""
        legacy = self.data.get("parameters") if self.reads_parameters else None
        self.src_raw = fidelity.source_config(self.defaults, legacy if isinstance(legacy, dict) else None,
                                              self.overrides)
        self.src_flat = fidelity.resolved_source(self.src_raw, self.label)
        if self.src_flat is None:
            self.imp.add("attention", self.at("command") or 1, "the source's NeMo config does not resolve (an "
                         "interpolation in an override?): the run file could not be compared with it")
        self.src_raw = fidelity.flatten(self.src_raw)

    def nemo_option(self) -> str:
        image, line = self.data.get("image"), self.at("image")
        newest = rf.nemo_options(self.source)[-1]
        release = release_of(image) if isinstance(image, str) else None
        opt = rf.nemo_for_release(self.source, release) if release else None
        self.nemo_release = release or ""
        self.defaults = rf.layer_data(self.source, f"nemo/{opt or newest}").get("parameters") or {}
        if opt is None:
            self.nemo_release = str((rf.layer_data(self.source, f"nemo/{newest}").get("runrepo") or {}).get(
                "nemo_release", newest))
            self.imp.add(
                "attention",
                line,
                f"image {image!r}: no NeMo release of runs/nemo/ matches its tag "
                f"{image_tag(str(image))!r}; using /nemo: {newest} and its image",
            )
            return newest
        layer_image = rf.layer_data(self.source, f"nemo/{opt}").get("image")
        if image != layer_image:
            self.top["image"] = image
            self.imp.add("kept", line, f"image {image} (NeMo {release}; runs/nemo/{opt} defaults to {layer_image})")
        else:
            self.imp.add("mapped", line, f"image {image} -> /nemo: {opt} (NeMo {release}: image and full config)")
        return opt

    def cluster(self) -> tuple[str | None, int]:
        value, line = self.c("cluster")
        known = rf.options(self.source, "cluster")
        per = {c: rf.cluster_info(self.source, c) for c in known}
        gpu_type, gline = self.c("gpu_type")
        if value in known:
            self.imp.add("mapped", line, f"cluster {value} -> /cluster: {value}")
            if gpu_type and gpu_type != per[value][1]:
                self.imp.add("attention", gline, f"gpu_type {gpu_type} differs from {value}'s {per[value][1]}")
            elif gpu_type:
                self.imp.add("mapped", gline, f"gpu_type {gpu_type} comes from runs/cluster/{value}.yaml")
            return value, per[value][0]
        hint = [c for c in known if gpu_type and per[c][1] == gpu_type]
        suggest = f" ({', '.join(hint)} has {gpu_type})" if hint else ""
        shown = f"cluster {value!r} is not a cluster of this repository" if value else "no cluster is given"
        self.imp.add(
            "attention",
            line or 1,
            f"{shown}: choose one of {', '.join(known)}{suggest}; the run file "
            f"says `/cluster: {value or '???'}` so that check refuses it until you do",
        )
        sizes = {g for g, _ in per.values()}
        return (str(value) if value else None), (sizes.pop() if len(sizes) == 1 else 8)

    def nodes(self, gpn: int) -> int:
        gpus, line = self.c("gpus")
        nodes = self.compute.get("nodes")
        if isinstance(gpus, int) and gpus > 0:
            n = max(1, math.ceil(gpus / gpn))
            if gpus % gpn:
                self.imp.add(
                    "attention",
                    line,
                    f"{gpus} GPUs is not whole nodes of {gpn}: the run takes {n} node(s), "
                    f"{n * gpn} GPUs (profiles use every GPU of a node)",
                )
            else:
                self.imp.add("mapped", line, f"{gpus} GPUs -> {n} node(s) of {gpn} (compute.gpus is derived)")
            return n
        if isinstance(nodes, int) and nodes > 0:
            self.imp.add("mapped", self.at("compute", "nodes"), f"compute.nodes {nodes}")
            return nodes
        self.imp.add("attention", line or 1, "no GPU count: one node assumed")
        return 1

    def launch(self, gpn: int, nodes: int) -> str:
        imp, line0 = self.imp, self.at("command")
        command = self.data.get("command")
        if command is not None and not isinstance(command, str):
            imp.add("attention", line0, "`command` is not a string; ignored")
        launch = read(command if isinstance(command, str) else "")
        names = [f.split("=", 1)[-1] for f in launch.config_flags if f.startswith(("--config-name", "-cn"))]
        self.reads_parameters = any(n.removesuffix(".yaml") == "parameters" for n in names)
        where = lambda needle: line_of(self.raw, needle, line0)  # noqa: E731
        for flag in launch.config_flags:
            imp.add(
                "mapped",
                where(flag),
                f"`{flag}`: the whole NeMo config is now `parameters` (runs/nemo/ "
                "with this run's values), mounted at /mnt/config",
            )
        for flag in launch.flags:
            imp.add("attention", where(flag), f"script option `{flag}` is not carried over")
        for line in launch.other_lines:
            why = (
                "downloads at run time; the tokenizer paths of base.yaml point at /mnt/data/bpe/"
                if line.startswith(("wget", "curl"))
                else "the layers' command only launches NeMo"
            )
            imp.add("dropped", where(line), f"command line `{line[:80]}`: {why}")
        world = f"{nodes * gpn} GPUs in one world"
        for o in launch.overrides:
            self.override(o, where(o.text.lstrip("+~").split("=", 1)[0] + "="), gpn, nodes, launch.downloads)
        if launch.launcher == "parallel" and (
            "CUDA_VISIBLE_DEVICES={}" in " ".join(launch.prefix) or any(t.startswith("RANK=") for t in launch.prefix)
        ):
            imp.add(
                "attention",
                where(launch.launcher + " "),
                "the legacy launch gave each GNU parallel process one GPU (CUDA_VISIBLE_DEVICES={}, "
                "trainer.devices=1), set RANK (which Lightning ignores) and no LOCAL_RANK, and left "
                f"trainer.num_nodes at 1: {nodes * gpn} separate single-GPU trainings, not one job. The "
                f"multi_node profile starts one world of {nodes * gpn} GPUs instead: expect a different "
                "data-parallel size and batch arithmetic than the legacy run had",
            )
        elif launch.launcher:
            imp.add(
                "dropped", where(launch.launcher + " "), f"launcher `{launch.launcher}`: the node profile launches NeMo"
            )
        return world

    def override(self, o, line: int, gpn: int, nodes: int, downloads: list[str]) -> None:
        add = self.imp.add
        if o.error:
            add("attention", line, f"override `{o.text}` does not parse as a Hydra override ({o.error}); not carried")
            return
        path = tuple(o.key.split("."))
        self.overrides.append((path, o.value, o.kind == "delete"))
        self.override_lines[path] = line
        if o.kind == "delete":
            self.noted.add(path)
            add("attention", line, f"override `{o.text}` deletes a key: a run file cannot; set it to null if meant")
            return
        if o.key in DERIVED:
            want = gpn if o.key == "trainer.devices" else nodes
            if o.value == want:
                add("dropped", line, f"`{o.text}`: derived by the layers ({DERIVED[o.key]}: {want})")
            else:
                self.noted.add(path)
                add(
                    "attention",
                    line,
                    f"`{o.text}` is replaced by {want}, derived by the layers ({DERIVED[o.key]}): "
                    f"the run uses {want} where the legacy file said {o.value}",
                )
            return
        if isinstance(o.value, str) and not o.value.startswith("/") and o.value in downloads:
            self.noted.add(path)
            add(
                "attention",
                line,
                f"`{o.text}` names a file the legacy command downloaded; not carried: "
                f"base.yaml's {o.key.rsplit('.', 1)[-1]} under /mnt/data/bpe/ is used: make sure it is there",
            )
            return
        rf.nest(self.params, o.key, rf.Flow(o.value) if isinstance(o.value, list) else o.value)
        hole = _placeholder(o.value)
        if hole:
            add(
                "attention",
                line,
                f"`{o.text}`: {hole!r} is a placeholder: set a real value in parameters.{o.key} "
                "(check refuses the file until you do)",
            )
        else:
            extra = " (explicit; add `+` only for keys NeMo's config lacks)" if o.kind != "set" else ""
            add("mapped", line, f"override `{o.text}` -> parameters.{o.key}{extra}")


def report(imp: Imported, label: str) -> list[str]:
    order = {"fields": -1, "attention": 0, "retired": 1, "mapped": 2, "kept": 3, "dropped": 4}
    lines = [
        f"{label}:{n.line}: {n.kind}: {n.message}" if n.line else f"{label}: {n.kind}: {n.message}"
        for n in sorted(imp.notes, key=lambda n: (n.line, order[n.kind]))
    ]
    return lines
