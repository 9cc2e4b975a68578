"""Data before training: a training run that reads a data run is created only once that data run has
completed on the platform.

What a training run needs is a dataset, not a file: a COMPLETED run of this repository whose
`runrepo_dataset` (dataprep.dataset_digest: the image and the recipe) is the one its data run has at
head. So a data run renamed, or moved to another cluster, still counts; one whose recipe changed does
not, until its new run completes.

A held run is not created, so it stays missing: `--base auto` then finds the submission that asked for
it incomplete and starts the next range where that one started (base.py), and so every later submission
(the next merge, the scheduled catch-up in status.yml) looks at it again until it is created. Nothing is
remembered anywhere else, so nothing can be lost or created twice: identity decides, as for any run.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from .platform import PlatformRun, Repository

READY, WAITING, BLOCKED = "ready", "waiting", "blocked"  # blocked: it will not complete by itself (red)
ENDED_BADLY = frozenset({"FAILED", "STOPPED"})


@dataclass(frozen=True)
class Need:
    """One data run a training run reads."""

    name: str  # wiki_gpt2 (runs/data/wiki_gpt2.yaml)
    file: str
    dataset: str  # the runrepo_dataset it needs completed


@dataclass(frozen=True)
class DataState:
    need: Need
    state: str  # ready | waiting | blocked
    words: str  # what the data run is doing, for a person
    run: PlatformRun | None = None  # the run it is judged by (the completed one, when ready)

    def __str__(self) -> str:
        return f"{self.need.name} ({self.words})"


def state_of(need: Need, listing: list[PlatformRun], repository: Repository,
             creating: AbstractSet[str] = frozenset()) -> DataState:
    """Where the dataset `need` names is: ready (a run built it), waiting (a run is building it, or this
    submission creates one), blocked (its runs ended without it, or none exists and none is coming)."""
    runs = sorted((r for r in listing if r.dataset == need.dataset and repository.owns(r) is not False),
                  key=lambda r: r.order, reverse=True)
    done = next((r for r in runs if r.status.upper() == "COMPLETED" and not r.deleted), None)
    if done is not None:
        return DataState(need, READY, f"{done.name} completed", done)
    live = next((r for r in runs if not r.deleted and r.status.upper() not in ENDED_BADLY | {"COMPLETED"}), None)
    if live is not None:
        return DataState(need, WAITING, f"{live.name} {live.status}", live)
    if need.dataset in creating:
        return DataState(need, WAITING, "submitted now")
    if runs:
        r = runs[0]
        why = f"{r.name} {r.status}" + (f": {r.reason}" if r.reason else "") + (" and deleted" if r.deleted else "")
        return DataState(need, BLOCKED, f"{why}; rerun it (bump runrepo.rerun in {need.file})", r)
    return DataState(need, BLOCKED, f"no run of {need.file} builds this dataset: it fails check, or its recipe "
                                    "changed through a shared layer (a Runrepo-Resubmit trailer submits it)")


def hold(todo: list[tuple[str, list[Need]]], listing: list[PlatformRun], repository: Repository,
         creating: AbstractSet[str]) -> dict[str, tuple[str, str]]:
    """path -> (waiting | failed, detail) for each training run whose data is not ready."""
    out: dict[str, tuple[str, str]] = {}
    for path, needs in todo:
        states = [state_of(n, listing, repository, creating) for n in needs]
        blocked = [s for s in states if s.state == BLOCKED]
        waiting = [s for s in states if s.state == WAITING]
        if blocked:
            out[path] = ("failed", "not submitted: its data cannot complete: " + "; ".join(map(str, blocked)))
        elif waiting:
            out[path] = ("waiting", "waiting for data: " + ", ".join(map(str, waiting)))
    return out
