"""`runrepo explain RUN_FILE`: text and JSON for the repository's own runs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from runrepo.cli import main

REPO = Path(__file__).resolve().parents[2]
RUN = "runs/experiments/gpt3-126m-2node.yaml"


def explain(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["explain", "--repo", str(REPO), *args])
    return code, out.getvalue(), err.getvalue()


def test_text_names_layout_size_memory_and_budget():
    code, out, _ = explain(str(REPO / RUN))
    assert code == 0
    for text in (
        "16 GPUs = TP 1 x PP 1 x CP 1 x DP 16",
        "parameters: 0.125 B",
        "padded to 50,304",
        "optimizer state",
        "activations kept",
        "usable",
        "fits",
        "assumptions:",
        "tokens per step: 524,288",
        "steps: 100,000",
        "GPU-hours per attempt: 384",
    ):
        assert text in out, text


def test_json_is_estimate_run():
    from runrepo.check import expand
    from runrepo.compose.layers import TreeSource
    from runrepo.estimate import estimate_run

    code, out, _ = explain(str(REPO / RUN), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["layout"]["world_size"] == 16 and data["params"]["total"] == 125_262_336
    assert data["memory"]["fits"] is True and data["budget"]["gpus"] == 16
    resolved, _ = expand(TreeSource(REPO), RUN.removeprefix("runs/").removesuffix(".yaml"))
    assert data == json.loads(json.dumps(estimate_run(resolved.run, resolved.tool), default=str))


def test_not_a_run_file():
    code, _, err = explain(str(REPO / "runs" / "base.yaml"))
    assert code == 2 and "not a run file" in err
