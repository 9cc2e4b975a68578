"""schemas/nemo/v<release>.json: the NeMo Megatron GPT config (an mcli run's `parameters`) per release.

Inputs, per release: NeMo's default megatron_gpt_config.yaml (tests/data/corpus), the Lightning
Trainer.__init__ signature (`trainer`: NeMo calls Trainer(**cfg.trainer)), NeMo's ExpManagerConfig
dataclasses (`exp_manager`: merged into a structured config), and NeMo's `cfg.get(...)` calls for
model keys the default omits. Sources are read from pinned wheels with ast, never imported.

    python -m scripts.gen_schemas.nemo [--out DIR] [--corpus DIR] [--download]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from . import defaults as nemo_defaults
from . import wheels
from .common import CORPUS, DRAFT, SCHEMAS, with_description, write
from .nemo_curated import (
    CLUSTER_TYPE,
    DEFAULTS_LIST,
    EXTRA_HINTS,
    FREE_FORM,
    MAX_TIME,
    NULL_HINTS,
    NULLABLE,
    OVERRIDES,
    RENAMED,
    data_prefix,
    data_requires_prefix,
)
from .nemo_optim import optimizer_keys, scheduler_params
from .pysrc import (
    Reader,
    combine,
    config_reads,
    dataclass_fields,
    docstring_args,
    init_signature,
    trainer_fixed_kwargs,
)


@dataclass(frozen=True)
class Release:
    name: str  # "1.11"
    nemo: str  # nemo_toolkit version
    lightning: str  # the newest Lightning that release's requirements allow
    lightning_dist: str = "pytorch_lightning"  # NeMo 2.1+ imports lightning.pytorch (the `lightning` wheel)
    mcore: str | None = None  # Megatron Core whose config dataclasses NeMo fills from the model config

    @property
    def default(self) -> str:  # file in corpus/nemo/megatron_gpt_config/
        return f"v{self.nemo}.yaml"

    @property
    def trainer_module(self) -> str:
        pkg = "lightning.pytorch" if self.lightning_dist == "lightning" else "pytorch_lightning"
        return f"{pkg}.trainer.trainer"

    @property
    def wheels(self) -> tuple[str, str]:
        return f"nemo_toolkit-{self.nemo}-py3-none-any.whl", f"{self.lightning_dist}-{self.lightning}-py3-none-any.whl"


# Lightning pins from each wheel's Requires-Dist (extra "all"/"core"): the newest version they allow.
RELEASES = (
    Release("1.11", "1.11.0", "1.6.5"),  # pytorch-lightning>=1.6.1,<1.7.0
    Release("1.12", "1.12.0", "1.7.6"),  # >=1.7.0,<=1.7.6
    Release("1.13", "1.13.0", "1.7.7"),  # >=1.7.0,<=1.7.7
    Release("1.14", "1.14.0", "1.8.6"),  # >=1.8.3,<1.9
    Release("1.15", "1.15.0", "1.8.6"),  # >=1.8.3,<=1.8.6
    Release("1.16", "1.16.0", "1.9.0"),  # ==1.9.0
    Release("1.17", "1.17.0", "1.9.4"),  # >=1.9.0,<=1.9.4
    Release("1.18", "1.18.0", "1.9.4"),
    Release("1.19", "1.19.0", "1.9.4"),
    Release("1.20", "1.20.0", "1.9.4"),
    Release("1.21", "1.21.0", "2.0.7", mcore="0.3.0"),  # >=2.0,<=2.0.7; megatron-core==0.3.0
    Release("1.22", "1.22.0", "2.0.7", mcore="0.4.0"),  # megatron-core==0.4.0
    Release("1.23", "1.23.0", "2.0.7", mcore="0.5.0"),  # megatron-core==0.5.0
    # From 2.0 NeMo pins no Megatron Core: 2.0 is the one of its container (24.09: Megatron Core 0.9.0, NVIDIA's
# Software Component Versions); 2.1-2.4 the Megatron Core release of the same month as the NeMo release.
    Release("2.0", "2.0.0", "2.4.0", mcore="0.9.0"),  # pytorch-lightning>2.2.1 (NeMo 2.0 imports pytorch_lightning)
    Release("2.1", "2.1.0", "2.4.0", "lightning", "0.10.0"),  # lightning>2.2.1,<=2.4.0
    Release("2.2", "2.2.0", "2.4.0", "lightning", "0.11.0"),
    Release("2.3", "2.3.0", "2.4.0", "lightning", "0.12.0"),
    Release("2.4", "2.4.0", "2.4.0", "lightning", "0.13.0"),
)
EXP_MANAGER_MODULE = "nemo.utils.exp_manager"
BUILDER_MODULE = "nemo.collections.nlp.parts.megatron_trainer_builder"
_MODEL = {"self.cfg": "model", "self._cfg": "model", "cfg": "model"}
SCANS = {  # module -> {receiver expression: the config section it is}; reads below them follow
    "nemo.collections.nlp.models.language_modeling.megatron_gpt_model": _MODEL,
    "nemo.collections.nlp.models.language_modeling.megatron_base_model": _MODEL,
    "nemo.collections.nlp.models.nlp_model": _MODEL,
    "nemo.collections.nlp.data.language_modeling.megatron.gpt_dataset": _MODEL,
    "nemo.core.classes.modelPT": {**_MODEL, "optim_config": "model.optim"},
    "nemo.core.optim.lr_scheduler": {"scheduler_config": "model.optim.sched"},
    BUILDER_MODULE: {"self.cfg": ""},
}


def _sentence(text: str, limit: int = 400) -> str:
    text = " ".join(text.replace("``", "`").split())
    if len(text) > limit:
        text = text[:limit].rsplit(". ", 1)[0] + "."
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def trainer_schema(rel: Release, pl: wheels.Sources, nemo: wheels.Sources) -> dict:
    reader = Reader(pl)
    params, doc = init_signature(pl, rel.trainer_module, "Trainer")
    docs = docstring_args(doc)
    builder = nemo.module(BUILDER_MODULE)
    fixed = trainer_fixed_kwargs(builder[0]) if builder else []
    names = {p[0] for p in params}
    props: dict[str, dict] = {}
    for name, ann, default in params:
        sig = f"Lightning {rel.lightning} `Trainer({name}: {ast.unparse(ann) if ann else 'Any'}"
        sig += f" = {ast.unparse(default)})`" if default is not None else ")`"
        text = f"{_sentence(docs.get(name, ''))} ({sig})".strip()
        if name in fixed:
            props[name] = {
                "description": text,
                "not": {},
                "x-message": f"`trainer.{name}` is passed to Trainer by NeMo v{rel.name} itself "
                f"(MegatronTrainerBuilder); a value here fails with TypeError: got multiple values for "
                f"keyword argument '{name}'",
            }
            continue
        schema = reader.schema(ann, rel.trainer_module)
        if schema is None:
            schema, text = {}, f"{text} Only a Python object fits here; YAML cannot set it."
        if name == "max_time":
            schema = {**schema, **MAX_TIME}
        props[name] = with_description(schema, text)
    for old, (new, why) in RENAMED.items():
        if old not in names and (new is None or new in names):
            props[old] = {
                "description": f"Not a Lightning {rel.lightning} Trainer argument: {why}.",
                "not": {},
                "x-message": f"`trainer.{old}`: {why}",
            }
    return {
        "description": f"Keyword arguments of Lightning {rel.lightning}'s Trainer: NeMo v{rel.name} calls "
        "Trainer(**cfg.trainer), so any other key fails with TypeError.",
        "type": "object",
        "additionalProperties": False,
        "x-unknown": f"; NeMo passes `trainer` to Lightning {rel.lightning}'s Trainer(**cfg.trainer), "
        "which refuses unknown arguments (TypeError)",
        "properties": props,
    }


def exp_manager_schema(rel: Release, nemo: wheels.Sources) -> dict:
    reader = Reader(nemo, coerce_str=True, dataclasses=True)
    module, cls = reader.lookup(EXP_MANAGER_MODULE, "ExpManagerConfig")
    schema = reader.dataclass_schema(module, cls)
    return with_description(
        schema,
        f"NeMo's experiment manager: merged into the ExpManagerConfig dataclass of nemo_toolkit {rel.nemo} "
        "(OmegaConf structured config), which refuses unknown keys. OmegaConf turns numbers into text "
        "for string fields.",
    )


def code_reads(nemo: wheels.Sources) -> dict[str, dict[str, list]]:
    """{section: {key: [literal defaults]}} from what NeMo's code reads of the config."""
    out: dict[str, dict[str, list]] = {}
    for module, receivers in SCANS.items():
        found = nemo.module(module)
        for section, keys in (config_reads(found[0], receivers) if found else {}).items():
            for key, values in keys.items():
                out.setdefault(section, {}).setdefault(key, []).extend(values)
    return out


MCORE_CONFIGS = (  # module, dataclass: NeMo's build_transformer_config / build_model_parallel_config copy
    ("megatron.core.model_parallel_config", "ModelParallelConfig"),  # `if field.name in cfg: cfg[field.name]`
    ("megatron.core.transformer.transformer_config", "TransformerConfig"),
    ("megatron.core.transformer.transformer_config", "MLATransformerConfig"),
)


def mcore_keys(rel: Release, nemo: wheels.Sources, wheel_dir: Path | None) -> dict[str, dict]:
    """{field: schema} of the Megatron Core config dataclasses, for releases whose base model copies them
    from the model config field by field (`for field in fields(...)` in megatron_base_model.py, 1.21+)."""
    base = nemo.module("nemo.collections.nlp.models.language_modeling.megatron_base_model")
    if not rel.mcore or not base or "in fields(" not in base[1]:
        return {}
    mcore = wheels.open_wheels([wheels.mcore_wheel(rel.mcore)], wheel_dir)
    reader = Reader(mcore, dataclasses=True)
    # TransformerConfig fields in build_transformer_config's `config_mapping` are set by NeMo and take
    # priority over the model config: NeMo does not read those keys (1.23: layernorm_zero_centered_gamma).
    mapped = _config_mapping_keys(base[0], "build_transformer_config")
    out: dict[str, dict] = {}
    for module, cls in MCORE_CONFIGS:
        found = reader.lookup(module, cls)
        if not found:
            continue
        for key, _ in dataclass_fields(reader, *found):
            if cls != "ModelParallelConfig" and key in mapped:
                continue
            out.setdefault(key, {"description": f"A field of Megatron Core {rel.mcore}'s {cls}: NeMo v{rel.name} copies "
                                 f"`{key}` from the model config when it builds the Megatron Core model."})
    return out


def _config_mapping_keys(tree: ast.Module, function: str) -> set[str]:
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.name == function:
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                    if any(ast.unparse(t) == "config_mapping" for t in node.targets):
                        return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return set()


def optim_extras(nemo: wheels.Sources) -> tuple[dict[str, dict], dict[str, dict]]:
    """(model.optim keys: the optimizers' keyword arguments, model.optim.sched keys: scheduler params)."""
    optim = {}
    for key, users in optimizer_keys(nemo).items():
        names = ", ".join(sorted({n for n, _ in users}))
        sources = "; ".join(sorted({s for _, s in users}))
        optim[key] = {"description": f"Keyword argument of the optimizer that optim.name builds ({names}); "
                      f"NeMo passes it to the constructor. Source: {sources}."}
    return optim, scheduler_params(nemo)


def _typed(values: list) -> dict:
    alts = []
    for v in values:
        if isinstance(v, bool):
            alts.append({"type": "boolean"})
        elif isinstance(v, (int, float)):
            alts.append({"type": "number"})
        elif v is not None:
            alts.append(nemo_defaults.infer(v))
    return (combine(alts) or {}) if alts else {}


def section(value: dict, notes: dict, path: str, reads: dict, rel: Release, extras: dict | None = None) -> dict:
    """An open object typed from its default values plus the keys NeMo's code reads.

    `extras`: {section path: {key: schema}} of keys known from NeMo's source other than by a read of
    the config (an optimizer's keyword arguments, the scheduler's parameters); where a default has the
    key too, the extra's type widens it (warmup_steps: Optional[float] in NeMo's scheduler params)."""
    extras = extras or {}
    more = extras.get(path, {})
    props: dict[str, dict] = {}
    for key, default in value.items():
        dotted = f"{path}.{key}" if path else key
        shown = json.dumps(default) if not isinstance(default, dict) else None
        note = notes.get(dotted, "").rstrip(".")
        text = f"{_sentence(note)} NeMo v{rel.name} default: {shown}.".lstrip()
        if dotted == "model.data.data_prefix":
            props[key] = data_prefix(rel.name)
            continue
        if dotted in FREE_FORM:
            props[key] = with_description({"type": ["object", "null"]}, FREE_FORM[dotted])
            continue
        if isinstance(default, dict):
            sub = section(default, notes, dotted, reads, rel, extras)
            props[key] = with_description(sub, f"`{dotted}` (NeMo v{rel.name} default config).")
            continue
        if dotted in OVERRIDES:
            schema = OVERRIDES[dotted]
        elif default is None:
            hint = NULL_HINTS.get(dotted)
            schema = combine([hint, {"type": "null"}]) if hint else {}
        else:  # the default's type, widened by the literal defaults NeMo's code passes to cfg.get
            in_code = _typed(reads.get(path, {}).get(key, []))
            alts = [nemo_defaults.infer(default)] + ([in_code] if in_code else [])
            if isinstance(more.get(key), dict) and more[key].get("type"):
                alts.append({"type": more[key]["type"]})
            if dotted in NULLABLE:
                alts.append({"type": "null"})
            schema = combine(alts)
        props[key] = with_description(schema, text)
    for key in sorted(set(reads.get(path, {})) | set(more)):
        if key in props or not path:  # top-level keys are listed by build()
            continue
        dotted = f"{path}.{key}"
        values = reads.get(path, {}).get(key)
        if dotted in FREE_FORM:
            props[key] = with_description({"type": ["object", "null"]}, FREE_FORM[dotted])
        elif values is not None:
            shown = ", ".join(sorted({repr(v) for v in values}))
            schema = EXTRA_HINTS.get(dotted) or _typed(values)
            text = f"Not in NeMo v{rel.name}'s default config; read by NeMo's code (defaults in code: {shown})."
            if dotted in reads:  # a section of its own: the keys read below it are known too
                schema = {**section({}, notes, dotted, reads, rel, extras), **schema}
                schema.pop("type", None)
            if key in more:
                text += " " + more[key].get("description", "")
            props[key] = with_description(schema, text)
        else:
            extra = more[key]
            props[key] = extra if "description" in extra else with_description(
                extra, f"A scheduler parameter of NeMo v{rel.name} (nemo/core/config/schedulers.py).")
    return {"type": "object", "additionalProperties": True, "properties": props}


def build(rel: Release, corpus: Path, wheel_dir: Path | None = None) -> dict:
    nemo = wheels.open_wheels([rel.wheels[0]], wheel_dir)
    pl = wheels.open_wheels([rel.wheels[1]], wheel_dir)
    default_path = corpus / "nemo" / "megatron_gpt_config" / rel.default
    value = nemo_defaults.load(default_path)
    notes = nemo_defaults.comments(default_path)
    reads = code_reads(nemo)
    optim, sched = optim_extras(nemo)
    extras = {"model": mcore_keys(rel, nemo, wheel_dir), "model.optim": optim, "model.optim.sched": sched}
    props: dict[str, dict] = {}
    for key, default in value.items():
        if key == "defaults":
            props[key] = DEFAULTS_LIST
        elif key == "trainer":
            props[key] = trainer_schema(rel, pl, nemo)
        elif key == "exp_manager":
            props[key] = exp_manager_schema(rel, nemo)
        elif key == "model":
            model = section(default, notes, "model", reads, rel, extras)
            model["required"] = ["data"]
            model["properties"]["data"].update(data_requires_prefix(rel.name))
            props[key] = with_description(
                model,
                "MegatronGPTModel config. Open: NeMo reads it with cfg.get, so a key it does not "
                "know is ignored silently (a warning here, with did-you-mean).",
            )
        else:
            schema = section({key: default}, notes, "", {}, rel)["properties"][key]
            props[key] = schema
    if "s3_checkpointing" in props:
        props["s3_checkpointing"]["description"] = "S3 checkpointing settings (NeMo v2.0; an open section)."
    if "name" in props:
        shown = json.dumps(value["name"])
        props["name"]["description"] = f"Experiment name (NeMo v{rel.name} default: {shown})."
    props["cluster_type"] = CLUSTER_TYPE
    for key in sorted(reads.get("", {})):  # other top-level keys NeMo's trainer builder reads
        if key not in props:
            text = f"Read by NeMo v{rel.name}'s MegatronTrainerBuilder."
            props[key] = with_description(_typed(reads[""][key]), text)
    if "restore_from_path" not in props and "restore_from_path" in value["model"]:
        props["restore_from_path"] = {
            "description": f"Moved under `model` in NeMo v{rel.name}.",
            "not": {},
            "x-message": f"`restore_from_path` moved under `model` in NeMo v{rel.name}: use `model.restore_from_path`",
        }
    open_sections = [k for k in ("model", "s3_checkpointing") if k in props]
    return {
        "$schema": DRAFT,
        "title": f"NeMo v{rel.name} Megatron GPT config",
        "description": f"NeMo v{rel.name} megatron_gpt_config (the `parameters` of an mcli run), "
        f"generated by scripts/gen_schemas/nemo.py from NeMo's default config {rel.default}, "
        f"Lightning {rel.lightning}'s Trainer and nemo_toolkit {rel.nemo}'s ExpManagerConfig. "
        "Validate the resolved config.",
        "x-sources": [
            f"corpus/nemo/megatron_gpt_config/{rel.default}",
            f"nemo_toolkit-{rel.nemo}",
            f"{rel.lightning_dist}-{rel.lightning}",
        ],
        "x-open-sections": open_sections,
        "type": "object",
        "additionalProperties": False,
        "x-unknown": f"; not a section of NeMo v{rel.name}'s GPT config (NeMo would ignore it)",
        "required": ["trainer", "exp_manager", "model"],
        "properties": {k: props[k] for k in props},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SCHEMAS, help="schemas directory (default: schemas/)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the corpus of NeMo default configs (default: tests/data/corpus)")
    parser.add_argument("--wheels", type=Path, default=None, help="wheel cache (default: see wheels.py)")
    parser.add_argument("--download", action="store_true", help="fetch missing pinned wheels from PyPI")
    args = parser.parse_args(argv)
    if args.download:
        wheels.download(args.wheels)
    gone = wheels.missing(args.wheels)
    if gone:
        print(
            f"missing wheels in {args.wheels or wheels.cache_dir()}: {', '.join(gone)} (use --download)",
            file=sys.stderr,
        )
        return 2
    for rel in RELEASES:
        print(write(args.out / "nemo" / f"v{rel.name}.json", build(rel, args.corpus, args.wheels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
