"""The check pipeline: gate -> compose -> resolve -> rules (schema included) -> findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .compose.dataprep import DATA_DIR
from .compose.datasets import catalog
from .compose.engine import compose
from .compose.layers import RUNS, TreeSource
from .compose.resolve import Resolved, resolve
from .errors import RunrepoError
from .findings import Finding, dedupe
from .rules import run_rules
from .rules.context import RunCtx

RUN_DIR = "experiments"  # training runs; data runs live in DATA_DIR (compose/dataprep.py)
RUN_DIRS = (RUN_DIR, DATA_DIR)
NOT_LAYERS = ("policy",)  # files under runs/ that are not Hydra layers


@dataclass
class RunResult:
    name: str  # config name, e.g. experiments/gpt3-126m-1node
    file: str
    resolved: Resolved | None  # None when checked in a worker process (not sent back)
    findings: list[Finding] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)  # files read: composed in merge order, then its data's


def is_run(name: str) -> bool:
    """A run: a training run (experiments/...) or a data run (data/...)."""
    return name.startswith((RUN_DIR + "/", DATA_DIR + "/"))


def is_data_run(name: str) -> bool:
    return name.startswith(DATA_DIR + "/")


def run_names(source: TreeSource) -> list[str]:
    return [n for n in source.names() if is_run(n)]


def expand(source: TreeSource, name: str) -> tuple[Resolved | None, list[Finding]]:
    """Compose and resolve one run; bad input becomes a finding, never an exception.

    Memoised per source (a source's layers never change): plan and submit ask for the same
    run when finding dependents and again when checking it.
    """
    memo = source.__dict__.setdefault("_expanded", {})
    if name not in memo:
        memo[name] = _expand(source, name)
    return memo[name]


def _expand(source: TreeSource, name: str) -> tuple[Resolved | None, list[Finding]]:
    file = f"{RUNS}/{name}.yaml"
    try:
        return resolve(compose(source, name), catalog(source)), []
    except RunrepoError as e:
        return None, [Finding.from_error(e, file)]
    except RecursionError:
        return None, [Finding(file, 0, 0, "yaml-depth", "error", "configuration nested too deeply", file)]


def check_run(source: TreeSource, name: str, policy: dict | None = None) -> RunResult:
    resolved, findings = expand(source, name)
    file = f"{RUNS}/{name}.yaml"
    layers = [] if resolved is None else resolved.files
    if resolved is not None:
        findings = run_rules(RunCtx(resolved, policy or {}))
    return RunResult(name, file, resolved, findings, layers)


PARALLEL_MIN = 200  # below this, forking costs more than it saves
_WORK: tuple = ()  # (source, policy) handed to forked workers through memory, not pickling


def _work(names: list[str]) -> list[RunResult]:
    source, policy = _WORK
    out = []
    for name in names:
        res = check_run(source, name, policy)
        out.append(RunResult(res.name, res.file, None, res.findings, res.layers))
    return out


def check_runs(source: TreeSource, names: list[str], policy: dict | None = None) -> list[RunResult]:
    """check_run over many runs, on every core when there are enough of them (fork: Linux, macOS)."""
    import multiprocessing as mp
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if len(names) < PARALLEL_MIN or cores < 2 or "fork" not in mp.get_all_start_methods():
        return [check_run(source, n, policy) for n in names]
    global _WORK
    first = check_run(source, names[0], policy)  # parses the shared layers once, before the fork
    _WORK = (source, policy)
    chunks = [names[1 + i :: cores] for i in range(cores)]
    try:
        with mp.get_context("fork").Pool(cores) as pool:
            parts = pool.map(_work, chunks)
    finally:
        _WORK = ()
    done = {r.name: r for part in parts for r in part}
    done[first.name] = first
    return [done[n] for n in names]


def runs_path(path: str, repo_root: Path) -> PurePosixPath | None:
    """A path (relative to the working directory or absolute) -> its path under runs/, or None."""
    p = Path(path)
    p = p if p.is_absolute() else Path.cwd() / p
    try:  # resolve the folder, not the file: a symlinked run file is judged as itself, not its target
        return PurePosixPath((p.parent.resolve() / p.name).relative_to(repo_root / RUNS).as_posix())
    except ValueError:
        rel_posix = PurePosixPath(path)
        return PurePosixPath(*rel_posix.parts[1:]) if rel_posix.parts[:1] == (RUNS,) else None


def layer_name(path: str, repo_root: Path) -> str | None:
    """`runs/cluster/r7z2.yaml` (relative to the repository or absolute) -> `cluster/r7z2`."""
    rel = runs_path(path, repo_root)
    if rel is None or rel.suffix != ".yaml":
        return None
    return rel.with_suffix("").as_posix()


STRAY_RULE = "run-file-name"


def is_stray(rel: PurePosixPath) -> bool:
    """A file under runs/experiments/ or runs/data/ that is not a `.yaml` run file (x.yml, x.YAML, notes.txt)."""
    return rel.parts[:1] in ((RUN_DIR,), (DATA_DIR,)) and rel.suffix != ".yaml"


def stray_finding(file: str) -> Finding:
    name = PurePosixPath(file)
    folder = f"{RUNS}/{name.parts[1] if len(name.parts) > 2 else RUN_DIR}"
    return Finding(file, 0, 0, STRAY_RULE, "error",
                   f"only `.yaml` files under {folder}/ are run files: this one would never be checked or "
                   f"submitted; rename it to {name.stem}.yaml (or move it out of {folder}/)", file)


def check(
    source: TreeSource, names: list[str] | None, policy: dict | None = None, strays: list[str] = ()
) -> tuple[list[Finding], list[RunResult]]:
    """Check the given layer names (None: every run, and every stray file under runs/experiments/).
    A shared layer checks every run using it; `strays` are stray files given by path."""
    all_runs = run_names(source)
    if names is None:
        wanted, shared = set(all_runs), []
        strays = [f for d in RUN_DIRS for f in source.files(d) if is_stray(PurePosixPath(f).relative_to(RUNS))]
    else:
        wanted = {n for n in names if is_run(n)}
        # a changed data run is also read by training runs (their data_prefix): they are checked too
        shared = [n for n in names if (not is_run(n) or is_data_run(n)) and n.split("/")[-1] not in NOT_LAYERS]
    findings: list[Finding] = [stray_finding(f) for f in strays]
    for name in [n for n in shared if not is_run(n)]:  # gate each changed layer on its own, even when unused
        try:
            source.layer(name)
        except RunrepoError as e:
            findings.append(Finding.from_error(e))
    results: dict[str, RunResult] = {}
    if shared:
        files = {f"{RUNS}/{n}.yaml" for n in shared}
        for res in check_runs(source, all_runs, policy):
            if res.name in wanted or files & set(res.layers) or any(f.file in files for f in res.findings):
                results[res.name] = res
    for res in check_runs(source, sorted(wanted - set(results)), policy):
        results[res.name] = res
    for res in results.values():
        findings.extend(res.findings)
    return dedupe(findings), [results[n] for n in sorted(results)]
