"""Hydra itself, as the reference composition (tests and `render --engine hydra`)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from .engine import Composed
from .gate import Json


def hydra_compose(runs_dir: Path, name: str) -> Composed:
    """Compose with Hydra's compose API; no provenance (Hydra records none)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(Path(runs_dir).resolve()), version_base="1.3"):
        cfg = compose(config_name=name)
    # compose() gives a DictConfig, and a Hydra config's keys are strings (to_container's type allows any)
    data = cast("dict[str, Json]", OmegaConf.to_container(cfg, resolve=False))
    return Composed(run=f"runs/{name}.yaml", data=data, prov={}, layers=[], choices={})
