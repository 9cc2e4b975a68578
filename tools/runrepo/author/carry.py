"""What `import` carries over besides the launch: env, integrations, scheduling, and the model preset."""

from __future__ import annotations

import math

from . import runfile as rf
from .fidelity import ABSENT, differences, flatten, same, show

SHAPE = ("num_layers", "hidden_size", "num_attention_heads")


class Carry:
    """Mixed into the importer's builder: needs imp, source, data, at, top, params, compute."""

    def rest(self, node: str) -> None:
        add, at = self.imp.add, self.at
        env = self.data.get("env_variables")
        pairs = (
            [(e.get("key"), e.get("value"), at("env_variables", i)) for i, e in enumerate(env) if isinstance(e, dict)]
            if isinstance(env, list)
            else [(k, v, at("env_variables", k)) for k, v in env.items()]
            if isinstance(env, dict)
            else []
        )
        base_env = rf.layer_data(self.source, "base").get("env_variables") or {}
        for k, v, line in pairs:
            if not isinstance(k, str) or not k:
                add("attention", line or at("env_variables"), f"env entry without a name ({k!r}); not carried")
            elif str(base_env.get(k, object())) == str(v):
                add("mapped", line, f"env {k}={v} is set by base.yaml")
            else:
                self.top.setdefault("env_variables", {})[str(k)] = "" if v is None else str(v)
                add("kept", line, f"env {k}")
        extra = []
        items = self.data.get("integrations") or []
        if not isinstance(items, list):
            add("attention", at("integrations"), "`integrations` is not a list; not carried")
            items = []
        for i, item in enumerate(items):
            line = at("integrations", i)
            if (
                isinstance(item, dict)
                and item.get("integration_type") == "apt_packages"
                and item.get("packages") in (["parallel"], "parallel")
            ):
                why = "the multi_node profile installs it" if node == "multi_node" else "not needed on one node"
                add("mapped" if node == "multi_node" else "dropped", line, f"apt package parallel: {why}")
            else:
                extra.append(item)
                add("kept", line, f"integration {item.get('integration_type') if isinstance(item, dict) else item}")
        if extra:
            profile = rf.layer_data(self.source, f"node/{node}").get("integrations") or []
            self.top["integrations"] = list(profile) + extra  # a run's list replaces the profile's
        for key in ("scheduling", "metadata"):
            if isinstance(self.data.get(key), dict):
                self.top[key] = self.data[key]
                add("kept", at(key), f"{key} as written")
        if not (self.data.get("scheduling") or {}).get("max_duration"):
            hours = rf.lookup(rf.layer_data(self.source, "base"), "scheduling.max_duration")
            add("mapped", at("scheduling") or 1, f"no max_duration: base.yaml bounds the run at {hours} hours")
        for key, value in self.compute.items():
            if key not in ("gpus", "cluster", "gpu_type", "nodes"):
                self.top.setdefault("compute", {})[key] = value
                add("kept", at("compute", key), f"compute.{key}")
        legacy = self.data.get("parameters")
        if isinstance(legacy, dict) and self.reads_parameters:
            _merge(self.params, legacy)
            add("attention", at("parameters"), f"parameters as written; the keys it lacks now come from NeMo "
                f"{self.nemo_release}'s default config (the source's NeMo used its code defaults for them)")
        elif isinstance(legacy, dict):
            add("attention", at("parameters"), "`parameters` is mounted at /mnt/config but the command loads NeMo's "
                "default config, so NeMo never read it: not carried (move what you meant into the run file)")

    def model(self, nemo: str) -> str | None:
        """A model layer only when every key it sets is what the source ran; else NeMo's defaults and the
        file's values, naming the closest preset and what it would change."""
        src = self.src_flat or {}
        best, best_gap, matches = None, None, []
        for opt in rf.options(self.source, "model"):
            preset = flatten(rf.lookup(rf.layer_data(self.source, f"model/{opt}"), "parameters", {}) or {})
            if self.src_flat is not None and all(same(src.get(p, ABSENT), v) for p, v in preset.items()):
                matches.append((len(preset), opt))
            gap = _gap(preset, src)
            if gap is not None and (best_gap is None or gap < best_gap):
                best, best_gap = opt, gap
        shape = _shape({k: src.get(("model", k)) for k in SHAPE})
        if matches:
            opt = max(matches)[1]
            self.imp.add("mapped", self.at("command"), f"model: preset {opt} ({shape}): every key it sets is what "
                         "the source ran")
            return opt
        also = ""
        if best:
            preset = flatten(rf.lookup(rf.layer_data(self.source, f"model/{best}"), "parameters", {}) or {})
            changed = [f"{'.'.join(p)} {show(was)} -> {show(now)}" for p, was, now in differences(src, preset)
                       if now is not ABSENT]
            also = f"; the closest preset, {best}, would change " + ", ".join(changed[:6]) + (
                f" and {len(changed) - 6} more" if len(changed) > 6 else "")
        self.imp.add("kept", self.at("command"), f"model: NeMo {self.nemo_release}'s default config with the file's "
                     f"values ({shape}), no model layer{also}")
        return None


def _gap(preset: dict, src: dict) -> float | None:
    """How far a preset's size is from the source's (layers x hidden^2, on a log scale)."""
    keys = [("model", "num_layers"), ("model", "hidden_size")]
    vals = [preset.get(k) for k in keys] + [src.get(k) for k in keys]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in vals):
        return None
    return abs(math.log(vals[0] * vals[1] ** 2 / (vals[2] * vals[3] ** 2)))


def _shape(m: dict) -> str:
    return f"{m.get('num_layers')} layers, hidden {m.get('hidden_size')}, {m.get('num_attention_heads')} heads"


def _merge(into: dict, other: dict) -> None:
    for k, v in other.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
