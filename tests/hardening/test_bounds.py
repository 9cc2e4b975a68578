"""Hostile files are refused fast and in bounded memory: measured in a fresh process.

The time is wall-clock for the whole `runrepo check` call (imports of the rules included); the
memory is the process's peak RSS and tracemalloc's peak for a second, identical call.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from corpus_util import materialize
from hardening_cases import CASES, RUN

MAX_SECONDS = 3.0
MAX_RSS_MB = 300  # the interpreter with runrepo imported is ~60 MB of it
MAX_TRACED_MB = 64

PROBE = r"""
import contextlib, io, json, resource, sys, time, tracemalloc
from runrepo.cli import main
argv = sys.argv[1:]
out = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    code = main(argv)
seconds = time.perf_counter() - t
tracemalloc.start()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main(argv)
traced = tracemalloc.get_traced_memory()[1]
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "traced": traced, "rss_kb": rss_kb, "out": out.getvalue()}))
"""
BOUNDED = [c for c in CASES if c.extra.get("bounded")] + [
    c for c in CASES if c.id in ("size-20mb-shared", "nodes-many-keys", "depth-flow-map-5000", "alias-shared")
]


@pytest.mark.parametrize("case", BOUNDED, ids=[c.id for c in BOUNDED])
def test_refused_fast_and_small(case, tmp_path):
    repo = materialize(case, tmp_path)
    p = subprocess.run(
        [sys.executable, "-c", PROBE, "check", "--repo", str(repo), str(repo / RUN)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    m = json.loads(p.stdout.splitlines()[-1])
    assert m["code"] == 1 and f"error[{case.rule}]" in m["out"], m["out"]
    assert m["seconds"] < MAX_SECONDS, f"{m['seconds']:.2f} s"
    assert m["rss_kb"] / 1024 < MAX_RSS_MB, f"{m['rss_kb'] / 1024:.0f} MB peak RSS"
    assert m["traced"] / 2**20 < MAX_TRACED_MB, f"{m['traced'] / 2**20:.1f} MB traced"
