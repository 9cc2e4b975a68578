"""The plan comment fits GitHub's limit with a complete table; hooks for policy and the memory estimate."""

from __future__ import annotations

import shutil
import time

import pytest
import runrepo.plan.plan
from plan_helpers import commit, git, main_repo, table
from runrepo.changes.decide import SUBMIT
from runrepo.findings import Finding
from runrepo.plan.plan import Plan, RunPlan, plan
from runrepo.plan.render import LIMIT, MARKER, esc, markdown, size, text
from runrepo_testing import run_file, write

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| `")]


def test_300_new_runs_fit_one_comment_with_a_complete_table(tmp_path):
    repo = main_repo(tmp_path / "repo")
    names = [f"sweep-{i:03d}-" + "x" * 46 for i in range(300)]  # 56 characters: the longest valid name
    assert all(len(n) == 56 for n in names)
    for i, name in enumerate(names):
        node, nodes = ("multi_node", 2) if i % 3 == 0 else ("single_node", 1)
        write(repo, f"runs/experiments/{name}.yaml", run_file(name, node=node, nodes=nodes))
    commit(repo, "a sweep")
    t0 = time.monotonic()
    p = plan(repo, "main")
    elapsed = time.monotonic() - t0
    md = markdown(p)
    assert size(md) <= LIMIT and len(md) <= LIMIT
    assert md.startswith(MARKER)
    rows = table_rows(md)
    assert len(rows) == 300
    assert sorted(n for n in names if any(n in r for r in rows)) == names
    gpus = 100 * 16 + 200 * 8
    assert p.totals.runs == 300 and p.totals.gpus == gpus
    assert f"300 runs to submit, {gpus:,} GPUs, {gpus * 24:,} GPU-hours" in md
    assert f"**Total to submit: 300** |  |  |  |  | **{gpus:,}** |  | **{gpus * 24:,}** |" in md
    assert "diff(s) not shown to stay within GitHub's 65,535-character comment limit" in md
    assert md.count("<details") < 300 and "</details>" in md
    assert md.count("<details") == md.count("</details>")  # no block left open by a cut
    assert elapsed < 60, f"planning 300 runs took {elapsed:.1f}s"


def synthetic(n_runs: int, diff_lines: int, findings: int = 0) -> Plan:
    runs = []
    for i in range(n_runs):
        diff = "--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n" + "".join(f"+line {j}\n" for j in range(diff_lines))
        fs = [
            Finding(f"runs/experiments/r{i}.yaml", k, 1, "batch-divisible", "error", "m" * 200) for k in range(findings)
        ]
        runs.append(
            RunPlan(
                f"runs/experiments/r{i}.yaml",
                "added",
                SUBMIT,
                "submit (new)",
                "new",
                gpus=8,
                max_duration=2.0,
                nodes=1,
                cluster="r7z2",
                gpu_type="a100_80gb",
                diff_text=diff,
                findings=fs,
            )
        )
    return Plan("a" * 40, "base subject", "b" * 40, "head subject", "origin/main", runs, [], [])


def test_a_long_diff_is_cut_with_a_visible_note():
    md = markdown(synthetic(1, 5000))
    assert size(md) <= LIMIT
    assert "_Diff cut: " in md and "more line(s)" in md and "runrepo render runs/experiments/r0.yaml" in md
    assert md.count("```") % 2 == 0


def test_diffs_beyond_the_budget_are_dropped_with_a_note_and_findings_are_capped():
    md = markdown(synthetic(40, 600, findings=40))
    assert size(md) <= LIMIT and len(table_rows(md)) == 40
    assert "more finding(s) not shown: run `runrepo check --all`" in md
    assert "diff(s) not shown" in md


def test_pull_request_text_is_inert_in_the_comment():
    assert esc("<details>@octocat | x") == "&lt;details&gt;&#64;octocat \\| x"
    p = synthetic(1, 3)
    p.runs[0].findings = [Finding("runs/experiments/r0.yaml", 1, 1, "run-name", "error", "name '@team</details>' bad")]
    p.runs[0].diff = "--- a\n+++ b\n+```\n+</details> @someone\n"
    md = markdown(p)
    assert "&#64;team&lt;/details&gt;" in md
    assert "````diff" in md  # a fence longer than any backtick run inside the diff
    assert md.count("</details>") == 2  # the block's own, and the one inside the fenced diff


def test_text_format_cuts_nothing():
    out = text(synthetic(1, 5000))
    assert "+line 4999" in out and "total to submit: 1 run(s), 8 GPUs, 16 GPU-hours" in out


def test_policy_is_read_from_the_base_commit(tmp_path):
    """A pull request that raises the GPU cap and adds a run above it is judged by the base's cap."""
    repo = main_repo(tmp_path / "repo")
    policy = repo / "runs/policy.yaml"
    policy.write_text(policy.read_text().replace("max_gpus_per_run: 128", "max_gpus_per_run: 8"))
    git(repo, "checkout", "-q", "main")
    commit(repo, "cap of 8 GPUs")
    git(repo, "checkout", "-q", "-B", "pr")
    policy.write_text(policy.read_text().replace("max_gpus_per_run: 8", "max_gpus_per_run: 1024"))
    write(repo, "runs/experiments/big.yaml", run_file("big", node="multi_node", nodes=2))
    commit(repo, "raise the cap and add a 16-GPU run")
    p = plan(repo, "main")
    (run,) = p.runs
    assert [f.rule for f in run.findings if f.severity == "error"] == ["policy-gpus"]
    assert "over the limit of 8 per run" in run.findings[0].message and p.exit_code == 1


def test_memory_estimate_column(tmp_path, monkeypatch):
    repo = main_repo(tmp_path / "repo")
    write(repo, "runs/experiments/new-run.yaml", run_file("new-run"))
    commit(repo, "add")
    md = markdown(plan(repo, "main"))
    cells = table(md)["`runs/experiments/new-run.yaml`"]
    assert cells["Memory"].endswith("fits"), cells

    def boom(run, tool):
        raise ValueError("no model")

    monkeypatch.setattr(runrepo.plan.plan, "estimate_run", boom)
    p = plan(repo, "main")
    assert p.runs[0].memory == {"error": "ValueError: no model"} and "| n/a |" in markdown(p)


def test_worst_case_rows_switch_to_the_compact_table():
    """300 runs with long names, long memory verdicts and findings: still every row, within the limit."""
    p = synthetic(300, 50, findings=3)
    p.estimate = True
    for i, r in enumerate(p.runs):
        r.path = f"runs/experiments/r{i:03d}-" + "y" * 51 + ".yaml"
        r.memory = {"summary": "123.4 of 76.5 GiB (161%), OUT OF MEMORY and then some more", "fits": False}
    md = markdown(p)
    assert size(md) <= LIMIT
    assert len([x for x in md.splitlines() if x.startswith("| `r")]) == 300
    assert "Run names are files under `runs/experiments/`" in md and "| **OOM** |" in md
