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
    ("nemo_toolkit", "1.12.0"): "a0f0f84bb4656be9ea2b7a8ac928e3d3ac473f3fde64b8f1aa7abfba7b41ef7c",
    ("nemo_toolkit", "1.13.0"): "dc0f542a7a46ba4cdcb88d764b7e093145eac537c871800d325680b6ef3111a0",
    ("nemo_toolkit", "1.14.0"): "cee6017ca6bef7491068cfa78e40357960b72a76768743ae676aafaf3f05a6e0",
    ("nemo_toolkit", "1.15.0"): "5f157842543c7d7156499f4ee213581d11caebc4ae91753fb78b8bb0e328440b",
    ("nemo_toolkit", "1.16.0"): "50688d0a4f012d42fe4200293b64d0519c8acffc73a1e6d16732f8f2be9a6114",
    ("nemo_toolkit", "1.17.0"): "34bf8b9fb1dd415ee087e6adae4c92e373800bb018b0cde882dcf7a9b766b062",
    ("nemo_toolkit", "1.18.0"): "4e4e25a2af315c889c13779e904fd5f66cb324b3958284b222014cad096b1f07",
    ("nemo_toolkit", "1.19.0"): "97aa2bc2b1b604d604af5b7153228b25b6d8dede0c5448dfc59fbc885018218a",
    ("nemo_toolkit", "1.20.0"): "29319585ba933cb8dd90eb8d160a805f293ee883d0bf8e936495050a6734e1a6",
    ("nemo_toolkit", "1.21.0"): "a351bec26a6b7440b637ffdbfcec430c7ce13ab7213deec4a4767692a9a91619",
    ("nemo_toolkit", "1.22.0"): "d187b1dc3a3fb16613b6537f135ba0672f6d491c224b5c082e8c04c7ecc69c5a",
    ("nemo_toolkit", "1.23.0"): "5182ab96d302289016ebd798f2032b8a1342f3b7f36ab94922dec48ac1f3f5c9",
    ("nemo_toolkit", "2.0.0"): "9af25cb1002d75960d410a3e533d9c9d7dbae6e9a67ef48954a816eaaec3651d",
    ("nemo_toolkit", "2.1.0"): "3f16ca1801e362d849b3e9f15f4478c43aa19607c3fbaddc69018d4a1f514c57",
    ("nemo_toolkit", "2.2.0"): "97a2e86334e366a09a073885f805ab1b511f7f6a7c10351a04485b8cc5ca771f",
    ("nemo_toolkit", "2.3.0"): "4a5c6da74faada787754e31028b3894f93e05483cba3855238d0ba294387ee06",
    ("nemo_toolkit", "2.4.0"): "5706c34dd96c6e53b711f435f8f933b70c3325ba6094e6ce5a89d899cee89882",
    ("pytorch_lightning", "1.6.5"): "00c9205d26aa354defdd4dd592b2dded33916d6e0c180ccffbb06cf34dc67ccf",
    ("pytorch_lightning", "1.7.6"): "346a4380c5104da24cb49673d0ec964399317bc4b9cf9cb03d3ec5d130e9bbdc",
    ("pytorch_lightning", "1.7.7"): "4438b8284d7f7fdb06cf3566a7b5b6f102ac8971cf7bb6d3f1b1de64628241f3",
    ("pytorch_lightning", "1.8.6"): "8b6b4126b85c56a9dd08a03f7096ce749bcb452a9a50f6201a7165dbd92d866d",
    ("pytorch_lightning", "1.9.0"): "fcd19d985db8d1a9656faaed80bb79a3548f2ed0471c05c089e01e0fb7ff92b2",
    ("pytorch_lightning", "1.9.4"): "a2d2bd7657716087c294b076fe385ed17879764d6daaad0a541394a8f7164f93",
    ("pytorch_lightning", "2.0.7"): "720add0c42d8eb042f371a77581feb2796429cffbe635156e9343775e9e5ba35",
    ("pytorch_lightning", "2.4.0"): "9ac7935229ac022ef06994c928217ed37f525ac6700f7d4fc57009624570e655",
    ("lightning", "2.4.0"): "560163af9711cf59055c448232c473150a299089efce0d2be3cc3288082d8768",
}
# Megatron Core: NeMo copies every TransformerConfig/ModelParallelConfig field from the model config.
# Its wheels are platform wheels (a C++ extension); the Python sources read here are the same in each.
MCORE = {
    "megatron_core-0.1.0-py3-none-any.whl": "21b725eb9ba9e27cb932c8c002d61599f1f9cdb460468b90b6b4744b718c24e7",
    "megatron_core-0.2.0-py3-none-any.whl": "bf0b94ab11d8a5c3df07f6190f7c6abc9535c9c232c85756bda9e923c55ff740",
    "megatron_core-0.3.0-py3-none-any.whl": "810f02ddeba4388d09b1d358ac8dbc0d863dabbd5d3cea12c84a348d2e4d6189",
    "megatron_core-0.4.0-cp310-cp310-manylinux2014_x86_64.whl": "4d1bdeb7d3f17d3e81a586782ca72f81bc03e1493fb97803bfaf619b87a23871",
    "megatron_core-0.5.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": "950f35ec5b8a3eea3578b7acf6d06f89d864f9751743b59c9480f797853eb333",
    "megatron_core-0.9.0-cp310-cp310-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl": "c0d929cf92f0aee68b18916b0191beec917e63a7766b4834852bef664202cc76",
    "megatron_core-0.10.0-cp310-cp310-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl": "3dcd2d30439e5d752a5a952a5ecfc0a22da64e09f0771672ae18fb5671f5e6f8",
    "megatron_core-0.11.0-cp310-cp310-manylinux_2_24_aarch64.manylinux_2_28_aarch64.whl": "e2ab6f72d2bfefc0e5324cd478e418694e7ca579aaf9121df6d5e15f48dd3fa7",
    "megatron_core-0.12.0-cp310-cp310-manylinux_2_24_aarch64.manylinux_2_28_aarch64.whl": "fc8ee3a21f587789bee12dd4934551a1f2cb4f046fef2b1a769faa5b8d0685b0",
    "megatron_core-0.13.0-cp310-cp310-manylinux_2_24_aarch64.manylinux_2_28_aarch64.whl": "a18292deee46937ca5c45a6298e0d46aff9e5e9511921777950c30a92715f40d",
}
PINS = {f"{dist}-{version}-py3-none-any.whl": digest for (dist, version), digest in DIGESTS.items()} | MCORE


def mcore_wheel(version: str) -> str:
    return next(name for name in MCORE if name.startswith(f"megatron_core-{version}-"))
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
