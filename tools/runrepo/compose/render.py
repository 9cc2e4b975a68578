"""The expanded run as YAML: deterministic, and read back identically by PyYAML and OmegaConf."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import yaml

from .gate import Json, KeyPath, _Loader
from .layers import Origin
from .resolve import Resolved

if TYPE_CHECKING:  # types-PyYAML declares libyaml's dumper; without libyaml it is the pure-Python one
    _Dumper = yaml.CSafeDumper
else:
    _Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Dumper(_Dumper):
    """Quotes every string that either PyYAML or OmegaConf would read as something else (`1e-5`)."""


Dumper.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()}
for first, resolvers in _Loader.yaml_implicit_resolvers.items():
    for tag, rx in resolvers:
        if (tag, rx) not in Dumper.yaml_implicit_resolvers.setdefault(first, []):
            Dumper.yaml_implicit_resolvers[first].append((tag, rx))


def _str(dumper: Dumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def dump(data: Json) -> str:
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)


def digest(resolved: Resolved) -> str:
    """sha256 over the run without metadata, plus the explicit rerun counter (runrepo.rerun)."""
    body = {k: v for k, v in resolved.run.items() if k != "metadata"}
    rerun = resolved.tool.get("rerun")
    if rerun:
        body = {"run": body, "rerun": rerun}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


# The metadata keys a submitted run carries (runrepo_<key>): where it came from and its identity.
SUBMIT_KEYS = ("path", "digest", "commit", "base", "repository", "repository_id")
DATASET_KEY = "dataset"  # and a data run, what its dataset is built from (what training runs wait for)


def with_metadata(resolved: Resolved, *, with_digest: bool = True, **extra: str) -> dict[str, Json]:
    """The run as submitted: its metadata names the file it came from and its digest."""
    run = dict(resolved.run)
    meta = dict(run.get("metadata") or {})
    meta["runrepo_path"] = resolved.composed.run
    if with_digest:  # a plan's diff leaves it out: it changes with any change, and says nothing a reviewer reads
        meta["runrepo_digest"] = digest(resolved)
        if resolved.dataset:
            meta[f"runrepo_{DATASET_KEY}"] = resolved.dataset
    meta.update({f"runrepo_{k}": v for k, v in extra.items() if v})
    run["metadata"] = meta
    return run


Scrub = Callable[[dict[str, Json]], dict[str, Json]]  # a run -> the same run as it may be shown (rules.secrets.redact)


def render(resolved: Resolved, with_digest: bool = True, scrub: Scrub | None = None) -> str:
    run = with_metadata(resolved, with_digest=with_digest)
    return dump(scrub(run) if scrub else run)


def annotate(resolved: Resolved, scrub: Scrub | None = None) -> str:
    """The rendered run with `# file:line` after every value: which layer set it."""
    run = with_metadata(resolved)
    run = scrub(run) if scrub else run
    out: list[str] = []
    _emit(run, (), 0, resolved, out)
    return "\n".join(out) + "\n"


def _origin(resolved: Resolved, path: KeyPath) -> str:
    if path and path[0] == "metadata" and len(path) > 1 and str(path[1]).startswith("runrepo_"):
        return "# runrepo"
    o: Origin = resolved.origin(path)
    note = " (derived)" if path in resolved.derived else ""
    return f"# {o}{note}"


def _scalar(value: Json) -> str:
    return dump(value).removesuffix("\n...\n").rstrip("\n")


def _emit(value: Json, path: KeyPath, indent: int, resolved: Resolved, out: list[str], lead: str = "") -> None:
    pad = " " * indent
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for k, v in items:
        p = path + (k,)
        head = f"{pad}{k}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(v, (dict, list)) and v:
            out.append(f"{head}  {_origin(resolved, p)}")
            _emit(v, p, indent + 2, resolved, out)
        elif isinstance(v, str) and "\n" in v:
            out.append(f"{head} |-  {_origin(resolved, p)}")
            out.extend(f"{pad}  {line}" if line else "" for line in v.split("\n"))
        else:
            out.append(f"{head} {_scalar(v)}  {_origin(resolved, p)}")
