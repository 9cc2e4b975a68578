"""The pinned wheels the NeMo schemas are read from (never installed, never imported).

Cache: $GEN_SCHEMAS_WHEELS, else ~/.cache/runrepo/gen_schemas/wheels. `--download` fills it from
PyPI's simple index (PEP 691 JSON). `pip download` cannot fetch pytorch-lightning 1.6/1.7 any more:
current pip refuses their metadata (a `>=1.8.*` specifier), so the files are fetched directly and
checked against the sha256 pinned here (the digests PyPI publishes).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import urllib.request
import zipfile
from pathlib import Path

DIGESTS = {  # (distribution, version): sha256 of its py3-none-any wheel, as PyPI publishes it
    ("nemo_toolkit", "1.11.0"): "6488736a0e032001c67274a7c30b9278df228569317c296f258cf429e4f108f0",
    ("nemo_toolkit", "1.13.0"): "dc0f542a7a46ba4cdcb88d764b7e093145eac537c871800d325680b6ef3111a0",
    ("nemo_toolkit", "1.23.0"): "5182ab96d302289016ebd798f2032b8a1342f3b7f36ab94922dec48ac1f3f5c9",
    ("nemo_toolkit", "2.0.0"): "9af25cb1002d75960d410a3e533d9c9d7dbae6e9a67ef48954a816eaaec3651d",
    ("pytorch_lightning", "1.6.5"): "00c9205d26aa354defdd4dd592b2dded33916d6e0c180ccffbb06cf34dc67ccf",
    ("pytorch_lightning", "1.7.7"): "4438b8284d7f7fdb06cf3566a7b5b6f102ac8971cf7bb6d3f1b1de64628241f3",
    ("pytorch_lightning", "2.0.7"): "720add0c42d8eb042f371a77581feb2796429cffbe635156e9343775e9e5ba35",
    ("pytorch_lightning", "2.4.0"): "9ac7935229ac022ef06994c928217ed37f525ac6700f7d4fc57009624570e655",
}
PINS = {f"{dist}-{version}-py3-none-any.whl": digest for (dist, version), digest in DIGESTS.items()}
SIMPLE_INDEX = "https://pypi.org/simple/{project}/"


def cache_dir() -> Path:
    env = os.environ.get("GEN_SCHEMAS_WHEELS")
    return Path(env) if env else Path.home() / ".cache" / "runrepo" / "gen_schemas" / "wheels"


def missing(directory: Path | None = None) -> list[str]:
    directory = directory or cache_dir()
    return [name for name in PINS if not (directory / name).is_file()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(directory: Path | None = None) -> None:
    """Fetch every missing pinned wheel from PyPI and check its digest."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for name in missing(directory):
        project = re.sub(r"[-_.]+", "-", name.split("-")[0]).lower()
        req = urllib.request.Request(
            SIMPLE_INDEX.format(project=project), headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            files = json.load(resp)["files"]
        url = next(f["url"] for f in files if f["filename"] == name)
        target = directory / name
        tmp = target.with_suffix(".part")
        urllib.request.urlretrieve(url, tmp)
        if _sha256(tmp) != PINS[name]:
            tmp.unlink()
            raise RuntimeError(f"{name}: sha256 differs from the pinned digest")
        tmp.rename(target)


class Wheel:
    """Python sources inside one wheel, addressed by module name."""

    def __init__(self, path: Path):
        if _sha256(path) != PINS.get(path.name):
            raise RuntimeError(f"{path}: not a pinned wheel (sha256 differs)")
        self.path = path
        self.name = path.name
        self._zip = zipfile.ZipFile(path)
        self._names = set(self._zip.namelist())

    def source(self, module: str) -> tuple[str, bool] | None:
        """(text, is_package) of `module`, or None when this wheel does not hold it."""
        base = module.replace(".", "/")
        for name, is_pkg in ((base + ".py", False), (base + "/__init__.py", True)):
            if name in self._names:
                return self._zip.read(name).decode("utf-8"), is_pkg
        return None


class Sources:
    """Module lookup across several wheels (Lightning wheels 2.x also carry lightning_fabric)."""

    def __init__(self, wheels: list[Wheel]):
        self.wheels = wheels
        self._parsed: dict[str, tuple[ast.Module, str, bool] | None] = {}

    def module(self, name: str) -> tuple[ast.Module, str, bool] | None:
        """(tree, text, is_package) of a module, parsed once."""
        if name not in self._parsed:
            found = next((w.source(name) for w in self.wheels if w.source(name)), None)
            self._parsed[name] = (ast.parse(found[0]), found[0], found[1]) if found else None
        return self._parsed[name]


def open_wheels(names: list[str], directory: Path | None = None) -> Sources:
    directory = directory or cache_dir()
    return Sources([Wheel(directory / n) for n in names])
