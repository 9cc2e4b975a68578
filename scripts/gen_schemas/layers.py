"""runs/nemo/v<major>_<minor>.yaml: one layer per NeMo release, from NeMo's default config of that release.

    python -m scripts.gen_schemas.layers [--corpus DIR] [--only 1.14,1.15]

The layer is NeMo's megatron_gpt_config.yaml, comments kept, indented under `parameters:`; its Hydra
`defaults:` list is dropped (runrepo composes no NeMo config groups) and trainer.devices/num_nodes are
left to runrepo to derive. The image is the newest container of the release (tools/runrepo/releases.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .common import CORPUS, REPO

sys.path.insert(0, str(REPO / "tools"))
from runrepo.releases import CONTAINERS, NEMO_IMAGE, release_key  # noqa: E402

# NeMo's source in the container: /workspace/nemo in the 22.xx-23.01 containers (NeMo's Dockerfile),
# /opt/NeMo in the NeMo Framework containers from 23.02.
SCRIPT = "examples/nlp/language_modeling/megatron_gpt_pretraining.py"


def image_of(release: str) -> str:
    tags = [t for t, c in CONTAINERS.items() if c.nemo.startswith(release + ".") and "rc" not in c.nemo]
    return f"{NEMO_IMAGE}:{max(tags)}"


def layer_text(release: str, default: Path) -> str:
    version = default.stem.lstrip("v")
    body = default.read_text(encoding="utf-8").splitlines()
    if body and body[0].startswith("defaults:"):  # Hydra's list, up to the first blank line
        body = body[next(i for i, line in enumerate(body) if not line.strip()) + 1 :]
    out = []
    for line in body:
        line = re.sub(r"^(  devices:) \d+.*$", r"\1 null # derived: runrepo.gpus_per_node of the cluster", line)
        line = re.sub(r"^(  num_nodes:) \d+.*$", r"\1 null # derived: compute.nodes", line)
        out.append(("  " + line).rstrip())
    while out and not out[-1]:
        out.pop()
    root = "/workspace/nemo" if release_key(release) <= (1, 16) else "/opt/NeMo"
    head = [
        "# @package _global_",
        f"# NeMo {release} (v{version}): image and NeMo's complete default GPT config, as `parameters`.",
        f"# Copied from NVIDIA/NeMo v{version} examples/nlp/language_modeling/conf/megatron_gpt_config.yaml",
        "# (Apache-2.0). trainer.devices and trainer.num_nodes are derived by runrepo.",
        f"image: {image_of(release)}",
        "runrepo:",
        f'  nemo_release: "{release}"',
        f"  pretraining_script: {root}/{SCRIPT}",
        "parameters:",
    ]
    return "\n".join(head + out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", default="", help="comma-separated releases (default: all)")
    args = parser.parse_args(argv)
    only = [r for r in args.only.split(",") if r]
    for default in sorted((args.corpus / "nemo" / "megatron_gpt_config").glob("v*.yaml")):
        release = ".".join(default.stem.lstrip("v").split(".")[:2])
        if only and release not in only:
            continue
        path = REPO / "runs" / "nemo" / f"v{release.replace('.', '_')}.yaml"
        path.write_text(layer_text(release, default), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
