"""The generators are deterministic and the checked-in schemas are their current output."""

from __future__ import annotations

import subprocess
import sys

import pytest
from schema_helpers import CORPUS, REPO, SCHEMAS

sys.path.insert(0, str(REPO))
from scripts.gen_schemas import pysrc, wheels  # noqa: E402
from scripts.gen_schemas.nemo import RELEASES  # noqa: E402

NEMO_FILES = [f"nemo/v{r.name}.json" for r in RELEASES]


def test_one_schema_per_release_1_11_to_2_4():
    assert [r.name for r in RELEASES] == [f"1.{m}" for m in range(11, 24)] + [f"2.{m}" for m in range(5)]
    assert sorted(p.relative_to(SCHEMAS).as_posix() for p in (SCHEMAS / "nemo").glob("*.json")) == sorted(NEMO_FILES)


def generate(module: str, out, *extra: str) -> None:
    cmd = [sys.executable, "-m", module, "--out", str(out), *extra]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True, timeout=600)


def test_mcli_schemas_are_reproducible(tmp_path):
    generate("scripts.gen_schemas.mcli", tmp_path / "a")
    generate("scripts.gen_schemas.mcli", tmp_path / "b")
    for name in ("mcli-run.json", "run-file.json"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes()
        assert first == (SCHEMAS / name).read_bytes(), f"{name} is stale: run python -m scripts.gen_schemas.mcli"


def test_nemo_schemas_are_reproducible(tmp_path):
    gone = wheels.missing()
    if gone:
        pytest.skip(f"pinned wheels not cached in {wheels.cache_dir()} ({len(gone)} missing): "
                    "python -m scripts.gen_schemas.nemo --download --out $(mktemp -d)")
    generate("scripts.gen_schemas.nemo", tmp_path / "a", "--corpus", str(CORPUS))
    generate("scripts.gen_schemas.nemo", tmp_path / "b", "--corpus", str(CORPUS))
    for name in NEMO_FILES:
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes(), name
        assert first == (SCHEMAS / name).read_bytes(), f"{name} is stale: run python -m scripts.gen_schemas.nemo"
        assert first == (SCHEMAS / name).read_bytes(), f"{name} is stale: run python -m scripts.gen_schemas.nemo"


def test_nemo_generator_refuses_without_wheels(tmp_path):
    empty = tmp_path / "wheels"
    empty.mkdir()
    cmd = [sys.executable, "-m", "scripts.gen_schemas.nemo", "--out", str(tmp_path), "--wheels", str(empty)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--download" in done.stderr


@pytest.mark.parametrize(
    "alts,expected",
    [
        (None, {}),
        ([], None),
        ([{"type": "integer"}, {"type": "null"}], {"type": ["integer", "null"]}),
        ([{"type": "integer"}, {"type": "number"}], {"type": "number"}),
        ([{"enum": ["warn"]}, {"type": "boolean"}, {"type": "null"}], {"enum": ["warn", True, False, None]}),
        (  # an array alternative folds into the type list (`items` only constrains arrays)
            [{"type": "array", "items": {"type": "integer"}}, {"type": "string"}],
            {"type": ["string", "array"], "items": {"type": "integer"}},
        ),
    ],
)
def test_combine(alts, expected):
    assert pysrc.combine(alts) == expected


def test_docstring_args():
    doc = "Summary.\n\nArgs:\n    a: First line\n        continues.\n\n        Later paragraph.\n    b: Other.\n"
    assert pysrc.docstring_args(doc) == {"a": "First line continues.", "b": "Other."}


def test_nemo_layers_are_the_generators_output():
    """runs/nemo/v*.yaml are NeMo's default configs of each release, as scripts/gen_schemas/layers.py writes them."""
    from scripts.gen_schemas.layers import layer_text

    for default in sorted((CORPUS / "nemo" / "megatron_gpt_config").glob("v*.yaml")):
        release = ".".join(default.stem.lstrip("v").split(".")[:2])
        layer = REPO / "runs" / "nemo" / f"v{release.replace('.', '_')}.yaml"
        assert layer.read_text() == layer_text(release, default), f"{layer} is stale: python -m scripts.gen_schemas.layers"
