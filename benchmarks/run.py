"""Benchmark: runrepo against its baselines, in one run, as medians with ratios.

    python benchmarks/run.py [--runs 1000] [--repeat 3] [--hydra-sample 50] [--submit 50]

Builds a synthetic repository of N run files on the real layers, then measures:
`runrepo check --all` cold; a pre-commit-style check of one changed run file; a check after
editing one cluster overlay; `runrepo plan` for a base-layer edit affecting every run;
per-file Hydra compose (a sample, scaled to N); check-jsonschema on the same expanded runs
against the same schemas; and submitting runs to the emulator at 200 ms per request.
Every command is a fresh process (interpreter start included). Exits non-zero only when
parity fails (Hydra's composition differs from runrepo's), never on a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from synth import ROOT, make_repo  # noqa: E402

BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def sh(args, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV, **(env or {})})
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def runrepo(*args, cwd, env=None):
    return sh([str(BIN / "runrepo"), *args], cwd, env)


def hydra_parity_and_time(repo: Path, names: list[str]) -> tuple[float, list[str]]:
    """Per-file Hydra compose (initialise + compose, as a hook would per file) and parity."""
    code = r"""
import json, sys, time
from pathlib import Path
from runrepo.compose.oracle import hydra_compose
from runrepo.compose.engine import compose
from runrepo.compose.layers import TreeSource
from runrepo.compose.resolve import resolve
from runrepo.compose.render import render
repo = Path(sys.argv[1]); names = json.loads(sys.argv[2])
t = time.perf_counter(); ours_bad = []
hydra = [hydra_compose(repo / "runs", n) for n in names]
elapsed = time.perf_counter() - t
src = TreeSource(repo)
for n, h in zip(names, hydra):
    mine = compose(src, n)
    h.run, h.choices = mine.run, mine.choices
    if mine.data != h.data or render(resolve(mine)) != render(resolve(h)):
        ours_bad.append(n)
print(json.dumps({"seconds": elapsed, "mismatch": ours_bad}))
"""
    proc = sh([sys.executable, "-c", code, str(repo), json.dumps(names)], repo)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["seconds"], out["mismatch"]


def check_jsonschema_time(repo: Path, work: Path, repeat: int) -> float:
    """check-jsonschema over the expanded runs (mcli schema) and their parameters (NeMo schemas)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from runrepo.check import expand, run_names
    from runrepo.compose.layers import TreeSource
    from runrepo.compose.render import with_metadata
    from runrepo.releases import release_of

    src = TreeSource(repo)
    runs_dir, by_release = work / "expanded", {}
    runs_dir.mkdir(parents=True, exist_ok=True)
    for name in run_names(src):
        resolved, _ = expand(src, name)
        run = with_metadata(resolved)
        stem = name.split("/")[-1]
        (runs_dir / f"{stem}.json").write_text(json.dumps(run))
        rel = release_of(run["image"])
        d = work / f"params-{rel}"
        d.mkdir(exist_ok=True)
        (d / f"{stem}.json").write_text(json.dumps(run["parameters"]))
        by_release[rel] = d
    cj = str(BIN / "check-jsonschema")
    schemas = ROOT / "schemas"

    def go():
        sh([cj, "--schemafile", str(schemas / "mcli-run.json"), *map(str, sorted(runs_dir.iterdir()))], work)
        for rel, d in by_release.items():
            sh([cj, "--schemafile", str(schemas / "nemo" / f"v{rel}.json"), *map(str, sorted(d.iterdir()))], work)

    return timed(go, repeat)


def submit_time(n: int, repeat: int) -> tuple[float | None, str]:
    if not (ROOT / "tools" / "runrepo" / "commands" / "submit.py").exists():
        return None, "runrepo submit not present"
    from runrepo.emulator.harness import running_emulator  # noqa: F401

    samples, note = [], ""
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            repo = make_repo(Path(d) / "repo", n, seed=1, git=True)
            with running_emulator(Path(d) / "state.json", latency_ms=200) as emu:
                env = emu.env()
                t = time.perf_counter()
                proc = runrepo("submit", "--base", "0" * 40, cwd=repo, env=env)
                samples.append(time.perf_counter() - t)
                live = [r for r in emu.runs(include_deleted=False)]
                note = f"exit {proc.returncode}, {len(live)} live runs for {n} files"
    return statistics.median(samples), note


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--hydra-sample", type=int, default=50)
    ap.add_argument("--submit", type=int, default=50)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="runrepo-bench-"))
    try:
        repo = make_repo(work / "repo", args.runs, git=True)
        one = "runs/experiments/synth-0000.yaml"
        rows = []

        t_all = timed(lambda: runrepo("check", "--all", cwd=repo), args.repeat)
        rows.append(("runrepo check --all (cold process)", t_all, f"{args.runs} runs"))
        t_one = timed(lambda: runrepo("check", one, cwd=repo), args.repeat)
        rows.append(("runrepo check <one changed run file>", t_one, "pre-commit style"))

        overlay = repo / "runs" / "cluster" / "r7z2.yaml"
        overlay.write_text(overlay.read_text().replace("priority", "priority") + "# edited\n")
        t_overlay = timed(lambda: runrepo("check", "runs/cluster/r7z2.yaml", cwd=repo), args.repeat)
        dependents = json.loads(runrepo("check", "--format", "json", "runs/cluster/r7z2.yaml", cwd=repo).stdout)[
            "checked"
        ]
        rows.append(("runrepo check <edited cluster overlay>", t_overlay, f"{dependents} dependent runs"))

        base = repo / "runs" / "base.yaml"
        base.write_text(base.read_text().replace("max_duration: 24.0", "max_duration: 23.0"))
        sh(["git", "commit", "-qam", "edit base"], repo)
        if (ROOT / "tools" / "runrepo" / "commands" / "plan.py").exists():
            t_plan = timed(lambda: runrepo("plan", "--base", "HEAD~1", "--format", "markdown", cwd=repo), args.repeat)
            rows.append(("runrepo plan <base.yaml edit, all runs affected>", t_plan, f"{args.runs} runs"))

        names = [f"experiments/synth-{i:04d}" for i in range(0, args.runs, max(1, args.runs // args.hydra_sample))]
        names = names[: args.hydra_sample]
        t_hydra, mismatch = hydra_parity_and_time(repo, names)
        t_hydra_all = t_hydra / len(names) * args.runs
        rows.append((f"Hydra compose per file ({len(names)} measured, scaled)", t_hydra_all, "baseline"))

        t_cj = check_jsonschema_time(repo, work / "cj", args.repeat)
        rows.append(("check-jsonschema on the expanded runs", t_cj, "baseline"))

        t_submit, note = submit_time(args.submit, 1)
        if t_submit is not None:
            rows.append((f"runrepo submit {args.submit} runs, emulator at 200 ms/request", t_submit, note))

        print(f"\n{'measurement':<62} {'seconds':>9}  note")
        for label, secs, note in rows:
            print(f"{label:<62} {secs:>9.3f}  {note}")
        print("\nratios")
        print(f"  check --all vs check-jsonschema on the same expanded runs: {t_cj / t_all:6.1f}x faster")
        print(f"  check --all vs per-file Hydra compose:                     {t_hydra_all / t_all:6.1f}x faster")
        print(f"  one changed run file:                                      {t_one:.3f} s")
        print(
            f"\nparity with Hydra on {len(names)} sampled runs: {'OK' if not mismatch else 'FAILED: ' + ', '.join(mismatch)}"
        )
        return 1 if mismatch else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
