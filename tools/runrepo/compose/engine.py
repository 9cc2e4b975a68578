"""Hydra's composition, for the subset of the defaults list this repository uses, with provenance.

Hydra does not record which file set a value; this does. It follows Hydra 1.3's rules
for the entries it accepts (`/config`, `/group: option`, `_self_`, all packages
`_global_`) and refuses every other form with a message, so nothing composes differently
here than under Hydra: tests compose every run both ways and compare.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import RunrepoError
from .gate import Json, KeyPath, Layer
from .layers import Origin, TreeSource

GLOBAL = "_global_"
Provenance = dict[KeyPath, Origin]  # key path -> the layer line that set it


@dataclass
class Composed:
    """A run file merged with its layers, before interpolations resolve."""

    run: str  # the run file, repository-relative
    data: dict[str, Json]
    prov: Provenance  # key path -> Origin of the layer line that set it
    layers: list[str] = field(default_factory=list)  # files in merge order
    choices: dict[str, str] = field(default_factory=dict)  # group -> option

    def origin(self, path: KeyPath) -> Origin:
        """The closest recorded origin for `path` (a missing key points at its parent)."""
        path = tuple(path)
        while path:
            hit = self.prov.get(path)
            if hit is not None:
                return hit
            path = path[:-1]
        return Origin(self.run, 1, 1)


def _entry_names(layer: Layer, source: TreeSource) -> list[tuple[str | None, str, Origin]]:
    """Parse a layer's defaults list into (group, config name, origin); `_self_` has name ''."""
    raw = layer.data.get("defaults")
    here = Origin(layer.file, *layer.pos.get(("defaults",), (1, 1)))
    if raw is None:
        return [(None, "", here)]
    if not isinstance(raw, list):
        raise RunrepoError("defaults-form", "`defaults` must be a list", here.file, here.line, here.col)
    base_dir = posixpath.dirname(layer.name)
    out: list[tuple[str | None, str, Origin]] = []
    for i, item in enumerate(raw):
        at = Origin(layer.file, *layer.pos.get(("defaults", i), (here.line, here.col)))
        if item == "_self_":
            out.append((None, "", at))
            continue
        if isinstance(item, str):
            group, option = None, item
        elif isinstance(item, dict) and len(item) == 1 and all(isinstance(v, str) for v in item.values()):
            group, option = next(iter(item.items()))
            if not group.strip("/ ") or not option.strip():  # `'': x` crashed here (IndexError)
                raise RunrepoError(
                    "defaults-form", "a defaults entry needs a group and an option", at.file, at.line, at.col
                )
            if group.split()[0] in ("override", "optional") or "@" in group or "@" in option:
                raise RunrepoError(
                    "defaults-form",
                    f"defaults entry {group!r} is not supported here: choose each option directly",
                    at.file,
                    at.line,
                    at.col,
                )
        else:
            raise RunrepoError(
                "defaults-form",
                "a defaults entry is `_self_`, `/config` or `/group: option`",
                at.file,
                at.line,
                at.col,
            )
        target = option if group is None else f"{group}/{option}"
        name = target[1:] if target.startswith("/") else posixpath.join(base_dir, target)
        if not name:  # `- /` would otherwise read as `_self_` (name ''), silently
            raise RunrepoError("defaults-form", f"defaults entry {target!r} names no config", at.file, at.line, at.col)
        out.append((group.lstrip("/") if group else None, name, at))
    if not any(name == "" for _, name, _ in out):
        raise RunrepoError(
            "defaults-self",
            "the defaults list has no `_self_`: Hydra would warn and guess where this file's own values "
            "go; end the list with `- _self_`",
            here.file,
            here.line,
            here.col,
        )
    return out


def _check_package(layer: Layer) -> None:
    if layer.package != GLOBAL:
        where = posixpath.dirname(layer.name).replace("/", ".") or "(root)"
        got = f"`# @package {layer.package}`" if layer.package else "no `# @package _global_` header"
        raise RunrepoError(
            "layer-package",
            f"{got}: Hydra would nest this layer's keys under `{where}`; make `# @package _global_` its first line",
            layer.file,
            1,
            1,
        )


def _expand(layer: Layer, source: TreeSource, stack: list[str], seen: set[str], choices: dict[str, str]) -> list[Layer]:
    _check_package(layer)
    order: list[Layer] = []
    for group, name, at in _entry_names(layer, source):
        if name == "":
            order.append(layer)
            continue
        if name in stack:
            chain = " -> ".join(stack + [name])
            raise RunrepoError("defaults-loop", f"defaults loop: {chain}", at.file, at.line, at.col)
        if name in seen:
            raise RunrepoError("defaults-twice", f"{name!r} is listed twice in the defaults", at.file, at.line, at.col)
        if group is not None:
            if group in choices:
                raise RunrepoError(
                    "defaults-twice", f"group {group!r} is chosen twice in the defaults", at.file, at.line, at.col
                )
            choices[group] = posixpath.basename(name)
        seen.add(name)
        child = source.layer(name, at)
        order.extend(_expand(child, source, stack + [name], seen, choices))
    return order


def merge_into(dst: dict[str, Json], src: dict[str, Json], layer: Layer, prov: Provenance, path: KeyPath = ()) -> None:
    """OmegaConf.merge semantics on plain data: mappings merge, anything else replaces, `???` never wins."""
    for key, value in src.items():
        if not path and key == "defaults":
            continue
        p = path + (key,)
        where = layer.pos.get(p)
        old = dst.get(key, _ABSENT)
        if value == "???" and old is not _ABSENT:
            continue  # OmegaConf keeps the existing value when merging a missing one
        if isinstance(value, dict) and isinstance(old, dict):
            merged = dict(old)
            dst[key] = merged
            if where:
                prov[p] = Origin(layer.file, *where)
            merge_into(merged, value, layer, prov, p)
            continue
        interpolated = isinstance(old, str) and _NODE_REF.fullmatch(old) is not None and isinstance(value, dict)
        if {type(old), type(value)} == {dict, list} or interpolated:
            # OmegaConf refuses dict/list merges, and merges a mapping onto a copy of what a `${key}`
            # reference points at (keys nobody wrote here appear): both compose unlike they read
            was, now = ("a mapping", "a list") if isinstance(old, dict) else ("a list", "a mapping")
            if interpolated:
                was, now = (
                    f"the reference {old!r}",
                    "a mapping (Hydra would merge it with the referenced mapping's keys)",
                )
            at = Origin(layer.file, *(where or (1, 1)))
            raise RunrepoError(
                "merge-type",
                f"`{'.'.join(map(str, p))}` is {was} in an earlier layer and {now} here: Hydra cannot merge them",
                at.file,
                at.line,
                at.col,
            )
        if old is not _ABSENT and isinstance(old, (dict, list)):
            _forget(old, p, prov)
        dst[key] = value
        if where:
            prov[p] = Origin(layer.file, *where)
        if isinstance(value, (dict, list)):
            _record(value, p, layer, prov)


_ABSENT = object()
_NODE_REF = re.compile(r"\$\{\s*[^:${}\s]+\s*\}")  # `${a.b}`: a reference, not a resolver call


def _children(value: dict[str, Json] | list[Json]) -> Iterable[tuple[str | int, Json]]:
    return value.items() if isinstance(value, dict) else enumerate(value)


def _forget(old: dict[str, Json] | list[Json], path: KeyPath, prov: Provenance) -> None:
    for k, v in _children(old):
        prov.pop(path + (k,), None)
        if isinstance(v, (dict, list)):
            _forget(v, path + (k,), prov)


def _record(value: dict[str, Json] | list[Json], path: KeyPath, layer: Layer, prov: Provenance) -> None:
    for k, v in _children(value):
        where = layer.pos.get(path + (k,))
        if where:
            prov[path + (k,)] = Origin(layer.file, *where)
        if isinstance(v, (dict, list)):
            _record(v, path + (k,), layer, prov)


def compose(source: TreeSource, name: str) -> Composed:
    """Compose config `name` (e.g. `experiments/gpt_126m`) as Hydra would, recording provenance."""
    primary = source.layer(name)
    choices: dict[str, str] = {}
    order = _expand(primary, source, [name], {name}, choices)
    data, prov = _merged_prefix(source, order[:-1]) if order[-1] is primary else ({}, {})
    for layer in order[len(order) - 1 if order[-1] is primary else 0 :]:
        merge_into(data, layer.data, layer, prov)
    return Composed(run=primary.file, data=data, prov=prov, layers=[x.file for x in order], choices=choices)


def _merged_prefix(source: TreeSource, layers: list[Layer]) -> tuple[dict[str, Json], Provenance]:
    """The shared layers merged once per combination; runs merge their own file on a shallow copy.

    merge_into never mutates what it merges into below the top level (it copies each mapping
    it changes), so the cached result can be shared by every run with the same layers.
    """
    cache: dict[tuple[str, ...], tuple[dict[str, Json], Provenance]] = source.__dict__.setdefault("_prefix_cache", {})
    key = tuple(x.name for x in layers)
    hit = cache.get(key)
    if hit is None:
        data: dict[str, Json] = {}
        prov: Provenance = {}
        for layer in layers:
            merge_into(data, layer.data, layer, prov)
        hit = cache[key] = (data, prov)
    return dict(hit[0]), dict(hit[1])
