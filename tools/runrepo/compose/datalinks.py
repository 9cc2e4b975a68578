"""What a training run's `data_prefix` entries are: a data run of this repository (named `data: NAME`,
or a path one of them writes), a dataset runs/datasets.yaml declares, or a path nobody declares.

Plain data only: datasets.Catalog fills these in during the resolve step, rules judge them, plan, submit
and status read which data runs a training run needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunrepoError

DATA_PREFIX = ("parameters", "model", "data", "data_prefix")
REF = "data"  # `data_prefix: [1.0, data: NAME]`: the entry names a data run
DATA, EXTERNAL, UNKNOWN = "data", "external", "unknown"


@dataclass(frozen=True)
class Use:
    """One data_prefix entry, linked."""

    path: tuple[Any, ...]  # where it is in the run: DATA_PREFIX + (1,) ...
    prefix: str  # the dataset prefix NeMo reads
    kind: str  # data | external | unknown
    name: str = ""  # data: the data run's name (runs/data/NAME.yaml)
    file: str = ""  # data: its file; external: runs/datasets.yaml
    line: int = 0  # external: the entry's line in runs/datasets.yaml
    tokenizer: dict[str, Any] | None = None  # the dataset's tokenizer: always for a data run, external when declared
    dataset: str = ""  # data: what builds it (dataprep.dataset_digest), the runrepo_dataset it needs on the platform
    named: bool = False  # written `data: NAME` (else a path)


@dataclass
class Links:
    uses: list[Use] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # what linking read: data run files and layers, runs/datasets.yaml
    matched: list[str] = field(default_factory=list)  # of those, what the entries resolved to (a change affects it)
    problem: RunrepoError | None = None  # runs/datasets.yaml cannot be read

    @property
    def needs(self) -> list[Use]:
        """The data runs this run reads, one entry each."""
        seen: dict[str, Use] = {}
        for u in self.uses:
            if u.kind == DATA:
                seen.setdefault(u.name, u)
        return list(seen.values())


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == [REF]


def entries(value: Any, rel: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path below data_prefix, entry) of every dataset entry: paths and `data: NAME` references, in a
    string, a [weight, path, ...] list, or a train/validation/test mapping (the forms NeMo reads)."""
    if isinstance(value, str) or is_ref(value):
        yield rel, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) or is_ref(item):
                yield rel + (i,), item
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from entries(item, rel + (key,))


def set_at(root: Any, rel: tuple[Any, ...], value: Any) -> Any:
    """`root` with the entry at `rel` replaced (in place below it); the new root."""
    if not rel:
        return value
    node = root
    for k in rel[:-1]:
        node = node[k]
    node[rel[-1]] = value
    return root
