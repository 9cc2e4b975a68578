"""What `import` carries over besides the launch: env, integrations, scheduling, and the model preset."""

from __future__ import annotations

import math

from . import runfile as rf

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
        if isinstance(self.data.get("parameters"), dict):
            _merge(self.params, self.data["parameters"])
            add("kept", at("parameters"), "parameters as written (on top of runs/nemo/'s full config)")

    def model(self, nemo: str) -> str | None:
        default = rf.lookup(rf.layer_data(self.source, f"nemo/{nemo}"), "parameters.model", {}) or {}
        legacy = {k: rf.lookup(self.params, f"model.{k}", default.get(k)) for k in SHAPE}
        best, best_gap = None, None
        for opt in rf.options(self.source, "model"):
            preset = rf.lookup(rf.layer_data(self.source, f"model/{opt}"), "parameters.model", {}) or {}
            shape = {k: preset.get(k) for k in SHAPE}
            if shape == legacy:
                self.preset_note(opt, preset, default)
                return opt
            if all(isinstance(v, int) for v in (*shape.values(), *legacy.values())):
                gap = abs(
                    math.log(
                        shape["num_layers"]
                        * shape["hidden_size"] ** 2
                        / (legacy["num_layers"] * legacy["hidden_size"] ** 2)
                    )
                )
                if best_gap is None or gap < best_gap:
                    best, best_gap = opt, gap
        self.imp.add(
            "mapped",
            self.at("command"),
            f"model: no preset has this shape ({_shape(legacy)}); NeMo's "
            f"default config with the overrides above" + (f"; the closest preset is {best}" if best else ""),
        )
        return None

    def preset_note(self, opt: str, preset: dict, default: dict) -> None:
        changed = []
        for key, value in _flat(preset):
            before = rf.lookup(self.params, f"model.{key}", rf.lookup(default, key))
            if before != value:
                changed.append(f"model.{key} {before} -> {value}")
        also = (
            (
                "; it also sets "
                + ", ".join(changed[:8])
                + (" ..." if len(changed) > 8 else "")
                + f": drop `- /model: {opt}` to train NeMo's defaults instead"
            )
            if changed
            else ""
        )
        self.imp.add("mapped", self.at("command"), f"model: preset {opt} has this shape ({_shape(preset)}){also}")


def _shape(m: dict) -> str:
    return f"{m.get('num_layers')} layers, hidden {m.get('hidden_size')}, {m.get('num_attention_heads')} heads"


def _flat(tree: dict, prefix: str = ""):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _merge(into: dict, other: dict) -> None:
    for k, v in other.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v
