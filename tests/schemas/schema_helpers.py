"""Helpers for the schema tests: paths, schema loading, and x-message aware error lists."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
CORPUS = REPO / "tests" / "data" / "corpus"  # the vendored shared corpus (tests/data/README.md)
RELEASE_NAMES = [f"1.{m}" for m in range(11, 24)] + [f"2.{m}" for m in range(5)]
RELEASES = {r: f"v{r}.0.yaml" for r in RELEASE_NAMES}


def release_key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split("."))


def corpus(*parts: str) -> Path:
    """A path in the vendored corpus."""
    path = CORPUS.joinpath(*parts)
    assert path.exists(), f"{path} is not in the vendored corpus (tests/data/README.md)"
    return path


@cache
def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def _x_message(err) -> str | None:
    if isinstance(err.schema, dict) and err.schema.get("x-message"):
        return err.schema["x-message"]
    for sub in sorted(err.context or [], key=lambda e: -len(e.absolute_path)):
        found = _x_message(sub)
        if found:
            return found
    return None


def errors(name: str, instance) -> list[tuple[str, str]]:
    """(dotted path, message) per error; the x-message of the failing subschema replaces the text."""
    out = []
    for err in validator(name).iter_errors(instance):
        dotted = ".".join(map(str, err.absolute_path))
        out.append((dotted, _x_message(err) or err.message))
    return sorted(out)


def load_nemo(path: Path) -> dict:
    """A NeMo config as NeMo sees it: OmegaConf typing (1e-5 is a float), interpolations resolved."""
    OmegaConf.register_new_resolver("multiply", lambda x, y: x * y, replace=True)
    OmegaConf.register_new_resolver("sum", lambda *args: sum(args), replace=True)
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True, throw_on_missing=False)


def nemo_default(release: str) -> dict:
    """NeMo's default config of `release` with the mandatory data_prefix filled in."""
    cfg = load_nemo(corpus("nemo", "megatron_gpt_config", RELEASES[release]))
    cfg["model"]["data"]["data_prefix"] = [1.0, "/data/x"]
    return cfg
