"""Plan, next to the platform: what merging does beside the runs that are live now.

- an edited (or renamed and changed, or resubmitted) run: its earlier version may still be running,
  and merging starts the new one beside it: GPU use doubles until one is stopped;
- a deleted run file: its live runs are stopped by the merge (runs/policy.yaml on_delete: stop, at
  the base) or keep running (the default), and are named either way;
- a training run that reads data runs: where each data run's dataset stands on the platform (merging
  submits the run only once they have completed).

Reading the platform is opt-in (`plan --platform`, or automatic with MOSAICML_API_KEY set), read-only,
and can never fail a plan: any platform error becomes one line in it.
"""

from __future__ import annotations

from datetime import timezone

from ..compose.layers import GitSource
from ..git import EMPTY_TREE, Git
from ..plan.plan import Plan, RunPlan
from ..submit.ordering import Need, state_of
from ..submit.platform import PlatformError, PlatformRun, Repository
from ..submit.select import lookup_start
from ..validate import policy as policy_file
from . import live as platform

UNKNOWN = ("platform not read{why}: which runs merging would stop, and which earlier versions are still "
           "running, is not known here (`runrepo plan --platform` with MOSAICML_API_KEY set)")


def relevant(p: Plan) -> list[RunPlan]:
    """Rows whose live runs matter: deleted files, and runs merging submits again."""
    return [r for r in p.runs if r.action == "deleted" or (r.submitted and r.change != "added")]


def readers(p: Plan) -> list[RunPlan]:
    """Rows merging submits that read data runs: their data's state is on the platform."""
    return [r for r in p.runs if r.submitted and r.needs]


def unknown(p: Plan, why: str = "") -> str:
    return UNKNOWN.format(why=f" ({why})" if why else "") if relevant(p) or readers(p) else ""


def _since(r: PlatformRun) -> str:
    when = r.started_at or r.created_at
    return f"{r.name} ({r.status} since {when.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC)"


def annotate(p: Plan, repo, repository: Repository, timeout: float = 20.0) -> Plan:
    rows, data = relevant(p), readers(p)
    if not rows and not data:
        return p
    git = Git(repo)
    stop = policy_file.on_delete(policy_file.load(GitSource.at(git.repo, p.head if p.base == EMPTY_TREE else p.base)))
    paths = sorted({x for r in rows for x in (r.path, r.old_path) if x} | {n["file"] for r in data for n in r.needs})
    try:
        seen = platform.read_once(repository, lookup_start(git, p.head, paths), timeout)
    except PlatformError as e:
        p.platform = unknown(p, str(e))
        return p
    p.platform = (f"read {len(seen.runs)} platform run(s) in one listing ({seen.pages} page(s)); the live runs "
                  f"of {repository.name or repository.id} are shown")
    for r in data:
        for n in r.needs:
            if n["state"].startswith("submitted by this merge"):
                continue  # not on the platform before the merge: git says it all
            got = state_of(Need(n["name"], n["file"], n["dataset"]), seen.runs, repository)
            n["state"] = {"ready": "completed on the platform: merging submits the run at once",
                          "waiting": "being built on the platform: the run waits until it has completed",
                          "blocked": "cannot complete on the platform: the run is not submitted"}[got.state] \
                + f" ({got.words})"
    for r in rows:
        runs = [x for path in {r.path, r.old_path} - {""} for x in seen.live_of(path)]
        r.live = [{"name": x.name, "status": x.status, "created": x.created_at.isoformat(),
                   "started": x.started_at.isoformat() if x.started_at else None, "gpus": x.gpus} for x in runs]
        if not runs:
            continue
        names = ", ".join(_since(x) for x in runs)
        gpus = sum(x.gpus for x in runs)
        if r.action == "deleted":
            r.live_note = (f"merging stops {names} (on_delete: stop)" if stop == "stop" else
                           f"{names} keeps running after the merge ({gpus} GPUs); stop it with `mcli stop run "
                           f"{runs[0].name}` or set on_delete: stop in runs/policy.yaml")
        else:
            more = f"{r.gpus} more GPUs" if r.gpus else "more GPUs"
            r.live_note = (f"{names} is still live: merging starts the new version beside it, {more} while both "
                           f"run (`mcli stop run {runs[0].name}` stops the old one)")
    return p
