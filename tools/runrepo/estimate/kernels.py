"""Which attention kernel NeMo builds for a config, and whether the container can run a fused one.

The choice, as NeMo's source makes it (nemo/collections/nlp/models/language_modeling/
megatron_gpt_model.py, v2.0.0rc0 to v2.4.0: `get_specs(spec_name, ..., use_te=cfg.transformer_engine)`):

- mcore_gpt with transformer_engine: Megatron-core's TE layer spec, TEDotProductAttention, which
  runs flash or cuDNN fused attention and keeps no a*s^2 score tensor;
- mcore_gpt without transformer_engine: the local spec's DotProductAttention (baddbmm, softmax,
  dropout), which keeps the scores; `use_flash_attention` is read only by the legacy model;
- the legacy model (mcore_gpt false): TE's TransformerLayer when transformer_engine, else NeMo's
  flash-attn path when use_flash_attention (1.20+), else CoreAttention with the scores.

Every release's default YAML has transformer_engine and use_flash_attention false (NVIDIA's
launcher presets turn Transformer Engine on; Launcher PR #305: "at mcore_gpt=true,
transformer_engine=true should be the default"). A fused kernel also needs a container that has
it: Transformer Engine gained flash attention in 2023 (the 23.0x containers, NeMo 1.20 on) and
NeMo's flash-attn path appeared in 1.20.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..releases import release_key

if TYPE_CHECKING:
    from ..compose.gate import Json

FIRST_FUSED_RELEASE = "1.20"


def release_has_fused_attention(release: str | None) -> bool | None:
    """Whether the image of a NeMo release ships TE with fused attention and flash-attn; None if unknown.

    Decided from the release string alone until the container table (TE and flash-attn version per
    image) exists: pass its answer as `container_has_fused_attention` to `attention_kernel` instead."""
    if release is None:
        return None
    try:
        return release_key(release) >= release_key(FIRST_FUSED_RELEASE)
    except ValueError:
        return None


def attention_kernel(model: Mapping[str, Json], release: str | None,
                     container_has_fused_attention: bool | None = None) -> tuple[str, str]:
    """("flash" | "unfused", why) for the attention NeMo builds from `model` (the resolved model config).

    `container_has_fused_attention`: True/False when the caller knows the image; None to decide from
    the release (and, with no release either, to trust the config)."""
    avail = container_has_fused_attention
    if avail is None:
        avail = release_has_fused_attention(release)
    mcore = model.get("mcore_gpt") is True
    te = model.get("transformer_engine") is True
    flash = model.get("use_flash_attention") is True
    backend = str(model.get("attention_backend") or "auto")

    def fused(what: str) -> tuple[str, str]:
        if avail is False:
            return "unfused", f"{what}, but the NeMo {release} container predates fused attention: a·s² scores kept"
        note = "" if avail else " (container capabilities unknown: assumed to have it)"
        return "flash", f"{what}: fused/flash attention, no a·s² scores kept{note}"

    if mcore:
        if not te:
            return "unfused", ("mcore_gpt without transformer_engine: Megatron-core's local layer spec "
                               "(DotProductAttention) keeps the a·s² scores; use_flash_attention is ignored there")
        if backend in ("unfused", "local"):
            return "unfused", f"attention_backend {backend}: a·s² scores kept"
        return fused("mcore_gpt with transformer_engine (TEDotProductAttention)")
    if te:
        return fused("transformer_engine (legacy model, TE TransformerLayer)")
    if flash:
        return fused("use_flash_attention (legacy model, flash-attn)")
    return "unfused", "legacy model without transformer_engine or use_flash_attention: a·s² scores kept"
