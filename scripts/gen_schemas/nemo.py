"""schemas/nemo/v<release>.json: the NeMo Megatron GPT config (an mcli run's `parameters`) per release.

Inputs, per release: NeMo's default megatron_gpt_config.yaml (../shared/corpus), the Lightning
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
    MAX_TIME,
    NULL_HINTS,
    OVERRIDES,
    RENAMED,
    data_prefix,
    data_requires_prefix,
)
from .pysrc import Reader, combine, docstring_args, get_calls, init_signature, trainer_fixed_kwargs


@dataclass(frozen=True)
class Release:
    name: str  # "1.11"
    nemo: str  # nemo_toolkit version
    lightning: str  # pytorch-lightning version pinned by that NeMo release
    default: str  # file in corpus/nemo/megatron_gpt_config/


RELEASES = (
    Release("1.11", "1.11.0", "1.6.5", "v1.11.0.yaml"),  # pytorch-lightning>=1.6.1,<1.7
    Release("1.13", "1.13.0", "1.7.7", "v1.13.0.yaml"),  # >=1.7.0,<=1.7.7
    Release("1.23", "1.23.0", "2.0.7", "v1.23.0.yaml"),  # >=2.0,<=2.0.7
    Release("2.0", "2.0.0", "2.4.0", "v2.0.0.yaml"),  # >2.2.1 (NeMo 2.0 imports pytorch_lightning)
)
TRAINER_MODULE = "pytorch_lightning.trainer.trainer"
EXP_MANAGER_MODULE = "nemo.utils.exp_manager"
BUILDER_MODULE = "nemo.collections.nlp.parts.megatron_trainer_builder"
_MODEL = {"self.cfg": "model", "self._cfg": "model", "cfg": "model"}
_MODEL.update({f"{r}.{s}": f"model.{s}" for r in _MODEL for s in ("data", "optim", "tokenizer")})
GET_SCANS = {  # module -> {receiver expression: config section it reads}
    "nemo.collections.nlp.models.language_modeling.megatron_gpt_model": _MODEL,
    "nemo.collections.nlp.models.language_modeling.megatron_base_model": _MODEL,
    "nemo.collections.nlp.data.language_modeling.megatron.gpt_dataset": _MODEL,
    BUILDER_MODULE: {"self.cfg": "", "self.cfg.model": "model"},
}


def _sentence(text: str, limit: int = 400) -> str:
    text = " ".join(text.replace("``", "`").split())
    if len(text) > limit:
        text = text[:limit].rsplit(". ", 1)[0] + "."
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def trainer_schema(rel: Release, pl: wheels.Sources, nemo: wheels.Sources) -> dict:
    reader = Reader(pl)
    params, doc = init_signature(pl, TRAINER_MODULE, "Trainer")
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
        schema = reader.schema(ann, TRAINER_MODULE)
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
    """{section: {key: [literal defaults]}} from NeMo's cfg.get calls."""
    out: dict[str, dict[str, list]] = {}
    for module, receivers in GET_SCANS.items():
        found = nemo.module(module)
        for section, keys in (get_calls(found[0], receivers) if found else {}).items():
            for key, values in keys.items():
                out.setdefault(section, {}).setdefault(key, []).extend(values)
    return out


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


def section(value: dict, notes: dict, path: str, reads: dict, rel: Release) -> dict:
    """An open object typed from its default values plus the keys NeMo's code reads."""
    props: dict[str, dict] = {}
    for key, default in value.items():
        dotted = f"{path}.{key}" if path else key
        shown = json.dumps(default) if not isinstance(default, dict) else None
        note = notes.get(dotted, "").rstrip(".")
        text = f"{_sentence(note)} NeMo v{rel.name} default: {shown}.".lstrip()
        if dotted == "model.data.data_prefix":
            props[key] = data_prefix(rel.name)
            continue
        if isinstance(default, dict):
            sub = section(default, notes, dotted, reads, rel)
            props[key] = with_description(sub, f"`{dotted}` (NeMo v{rel.name} default config).")
            continue
        if dotted in OVERRIDES:
            schema = OVERRIDES[dotted]
        elif default is None:
            hint = NULL_HINTS.get(dotted)
            schema = combine([hint, {"type": "null"}]) if hint else {}
        else:  # the default's type, widened by the literal defaults NeMo's code passes to cfg.get
            in_code = _typed(reads.get(path, {}).get(key, []))
            schema = combine([nemo_defaults.infer(default)] + ([in_code] if in_code else []))
        props[key] = with_description(schema, text)
    for key in sorted(reads.get(path, {})):
        if key not in props and path:  # top-level keys are listed by build()
            values = reads[path][key]
            shown = ", ".join(sorted({repr(v) for v in values}))
            schema = EXTRA_HINTS.get(f"{path}.{key}") or _typed(values)
            props[key] = with_description(
                schema,
                f"Not in NeMo v{rel.name}'s default config; read by NeMo with "
                f"`cfg.get('{key}', ...)` (defaults in code: {shown}).",
            )
    return {"type": "object", "additionalProperties": True, "properties": props}


def build(rel: Release, corpus: Path, wheel_dir: Path | None = None) -> dict:
    nemo = wheels.open_wheels([f"nemo_toolkit-{rel.nemo}-py3-none-any.whl"], wheel_dir)
    pl = wheels.open_wheels([f"pytorch_lightning-{rel.lightning}-py3-none-any.whl"], wheel_dir)
    default_path = corpus / "nemo" / "megatron_gpt_config" / rel.default
    value = nemo_defaults.load(default_path)
    notes = nemo_defaults.comments(default_path)
    reads = code_reads(nemo)
    props: dict[str, dict] = {}
    for key, default in value.items():
        if key == "defaults":
            props[key] = DEFAULTS_LIST
        elif key == "trainer":
            props[key] = trainer_schema(rel, pl, nemo)
        elif key == "exp_manager":
            props[key] = exp_manager_schema(rel, nemo)
        elif key == "model":
            model = section(default, notes, "model", reads, rel)
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
            f"pytorch_lightning-{rel.lightning}",
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
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the shared corpus (../shared/corpus)")
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
