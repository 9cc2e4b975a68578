"""`runrepo demo`: the whole flow on the bundled runs, with no credentials and nothing leaving this machine.

check every run -> start the local MosaicML API emulator (loopback, free port, temporary state; data
runs complete on a script) -> submit every run (base all zeros): a training run that reads a data run
waits for it -> once the data run has completed, submit again: the waiting run is created, nothing else
twice -> once more: nothing is created -> stop the emulator. runs/ is first committed into a scratch git
repository, so uncommitted edits are shown too and the checkout's own git state is never touched.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..errors import EXIT_USAGE
from ..git import ZERO, Git
from . import common


def add_parser(sub):
    p = sub.add_parser("demo", help="check, then submit the bundled runs to a local platform emulator, twice")
    common.add_repo_arg(p)
    return p


def _section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def _snapshot(repo: Path, into: Path) -> Path:
    shutil.copytree(repo / "runs", into / "runs", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "runrepo demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "runrepo demo", "GIT_COMMITTER_EMAIL": "demo@localhost",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "runs/ as of the demo"]):
        Git(into).run(*cmd, env=env)
    return into


def _submit(repo: Path) -> tuple[int, list[dict]]:
    """One submission of every run at head (base all zeros) to the emulator; its rows as JSON."""
    import json

    from ..submit import report
    from ..submit.engine import RetryPolicy
    from ..submit.flow import Request, submit
    from ..submit.platform import Repository

    req = Request(repo, ZERO, "HEAD", Repository("demo/runrepo"), retry=RetryPolicy(attempts=3, wait=0.5),
                  timeout=30.0)
    result = submit(req)
    code = 1 if any(o.failed for o in result.outcomes) else 0
    return code, json.loads(report.as_json(result.selection, result.outcomes))["runs"]


def _table(rows: list[dict]) -> None:
    width = max([len(r["file"]) for r in rows] + [4])
    print(f"{'FILE':<{width}}  {'PLATFORM RUN':<28}  {'CLUSTER':<7}  {'GPUS':>4}  STATUS", flush=True)
    for r in rows:
        print(f"{r['file']:<{width}}  {r['run'] or '-':<28}  {r['cluster'] or '-':<7}  {r['gpus'] or '-':>4}  "
              f"{r['status']}", flush=True)


def run(args) -> int:
    repo = Path(args.repo).resolve()
    if not (repo / "runs").is_dir():
        print(f"runrepo demo: no runs/ folder in {repo}", file=sys.stderr)
        return EXIT_USAGE
    from ..check import check
    from ..findings import exit_code
    from ..report import REPORTERS

    _section("1. runrepo check --all")
    source = common.source(args)
    findings, results = check(source, None, common.policy(source))
    sys.stdout.write(REPORTERS["text"](findings, len(results)))
    code = exit_code(findings)
    if code:
        print("runrepo demo: fix the findings above first (invalid runs are never submitted)", file=sys.stderr)
        return code
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="runrepo-demo-") as tmp:
        from ..emulator import MCLI_ENV_CONFLICTS, mcli_env, running_emulator

        _section("2. local MosaicML API emulator")
        with running_emulator(Path(tmp) / "state.json", data_lifecycle=DATA_SCRIPT) as emu:
            print(f"listening on {emu.endpoint} (state in a temporary folder, any API key accepted; data runs "
                  f"follow the script {DATA_SCRIPT})", flush=True)
            try:
                for name in MCLI_ENV_CONFLICTS:
                    os.environ.pop(name, None)
                os.environ.update(mcli_env(emu.endpoint, "demo-key", config_dir=Path(tmp) / "mosaic"))
                code = _flow(_snapshot(repo, Path(tmp) / "repo"), emu)
            finally:
                os.environ.clear()
                os.environ.update(saved)
        _section("6. emulator stopped")
    print("demo: OK" if code == 0 else "demo: FAILED (see above)")
    return code


DATA_SCRIPT = "RUNNING@0.5,COMPLETED@1.5"  # how the emulator runs a data run: completed 1.5 s after creation


def _notes(rows: list[dict]) -> None:
    for r in rows:
        if r["status"] == "waiting":
            print(f"  {r['file']}: {r['detail']}", flush=True)


def _flow(repo: Path, emu) -> int:
    _section("3. runrepo submit --base 0000000 (every bundled run; a run that reads a data run waits for it)")
    code, first = _submit(repo)
    _table(first)
    _notes(first)
    waiting = {r["file"] for r in first if r["status"] == "waiting"}
    _section("4. the data runs complete; the same submission again creates the waiting runs, nothing twice")
    time.sleep(2.0)  # DATA_SCRIPT's last step, and a margin
    code2, second = _submit(repo)
    _table(second)
    _section("5. once more: nothing is created")
    code3, third = _submit(repo)
    _table(third)
    live = emu.runs(include_deleted=False)
    print(f"\nplatform: {len(live)} live run(s) for {len(first)} run file(s): "
          + ", ".join(sorted(r["name"] for r in live)))
    ok = (code == code2 == code3 == 0
          and all(r["status"] == ("waiting" if r["file"] in waiting else "created") for r in first)
          and all(r["status"] == ("created" if r["file"] in waiting else "existing") for r in second)
          and all(r["status"] == "existing" for r in third) and len(live) == len(first))
    return 0 if ok else 1
