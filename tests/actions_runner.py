"""A small stand-in for the GitHub Actions runner: runs the `run:` steps of one job in bash.

Steps are taken from the workflow file, never copied into tests. What needs GitHub or the
network is skipped with a stated reason: `uses:` actions (checkout, setup-python, github-script)
and package installs (the test's environment already has runrepo installed). Expressions are
evaluated only in the forms this repository's workflows use (`value_of`): context paths, literals,
`!`, `==`, `!=`, `&&`, `||`, parentheses, `contains()` and the status functions; anything else fails
the test. Job-level `if:` is not applied by `run_job`; tests ask `job_runs`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
NETWORK = re.compile(r"\b(pip|pip3|npm|apt-get|apt)\s+(install|ci)\b")


@dataclass
class StepResult:
    name: str
    skipped: str = ""  # the reason, when not run
    code: int = 0
    stdout: str = ""
    stderr: str = ""
    outputs: dict = field(default_factory=dict)
    summary: str = ""  # what the step appended to GITHUB_STEP_SUMMARY


@dataclass
class JobResult:
    steps: list[StepResult]
    summary: str
    outputs: dict
    failed: bool


def lookup(expr: str, ctx: dict):
    """`github.event.pull_request.number` -> its value; anything else is a test failure, not a guess."""
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w-]+)*", expr):
        raise AssertionError(f"expression not supported by the stand-in runner: {expr!r}")
    node = ctx
    for part in expr.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return node


def render(v) -> str:
    """A value as GitHub pastes it into a string: true/false, null as empty, objects as JSON."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    return json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def substitute(value, ctx: dict) -> str:
    return EXPR.sub(lambda m: render(value_of(m.group(1), ctx)), str(value))


TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|!|\(|\)|,)|'((?:[^']|'')*)'|([A-Za-z_][\w.-]*))")
STATUS = {"success": True, "always": True, "cancelled": False, "failure": False}


def value_of(expr: str, ctx: dict, status: dict | None = None):
    """An expression's value: context paths, 'strings', true/false/null, `!`, `==`, `!=`, `&&`, `||`,
    parentheses, `contains(a, b)` and the status functions (`status` overrides their results)."""
    funcs = {**STATUS, **(status or {})}
    tokens, pos, text = [], 0, expr.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise AssertionError(f"expression not supported by the stand-in runner: {expr!r}")
        op, string, name = m.groups()
        if op:
            tokens.append(("op", op))
        elif string is not None:
            tokens.append(("val", string.replace("''", "'")))
        else:
            tokens.append(("name", name))
        pos = m.end()

    def take(*ops):
        if tokens and tokens[0][0] == "op" and tokens[0][1] in ops:
            return tokens.pop(0)[1]
        return None

    def call(name):
        args = [] if take(")") else [either()]
        while args and take(","):
            args.append(either())
        assert args == [] or take(")"), f"unbalanced call of {name} in {expr!r}"
        if name in funcs and not args:
            return funcs[name]
        if name == "contains" and len(args) == 2:
            hay, needle = args
            if isinstance(hay, list):
                return any(equal(x, needle) for x in hay)
            return render(needle).lower() in render(hay).lower()
        raise AssertionError(f"function not supported by the stand-in runner: {name}({len(args)} args)")

    def primary():
        assert tokens, f"incomplete expression {expr!r}"
        if take("!"):
            return not truthy(primary())
        if take("("):
            v = either()
            assert take(")"), f"unbalanced parentheses in {expr!r}"
            return v
        kind, v = tokens.pop(0)
        if kind == "val":
            return v
        assert kind == "name", f"unexpected {v!r} in {expr!r}"
        if take("("):
            return call(v)
        literal = {"true": True, "false": False, "null": None}
        return literal[v] if v in literal else lookup(v, ctx)

    def compare():
        left = primary()
        while op := take("==", "!="):
            same = equal(left, primary())
            left = same if op == "==" else not same
        return left

    def both():
        left = compare()
        while take("&&"):
            right = compare()
            left = right if truthy(left) else left
        return left

    def either():
        left = both()
        while take("||"):
            right = both()
            left = left if truthy(left) else right
        return left

    result = either()
    assert not tokens, f"trailing {tokens!r} in {expr!r}"
    return result


def evaluate(expr: str, ctx: dict, status: dict | None = None) -> bool:
    """An `if:` condition, with or without `${{ }}`."""
    text = expr.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return truthy(value_of(text, ctx, status))


def truthy(v) -> bool:
    return v not in (False, None, "", 0)


def equal(a, b) -> bool:
    """GitHub compares strings case-insensitively, and casts a mixed pair to numbers."""
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b):
        return a == b
    return number(a) == number(b)


def number(v) -> float:
    if v is None or v == "":
        return 0.0
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def job_runs(workflow: dict, job_id: str, ctx: dict, status: dict | None = None) -> bool:
    """Whether the job's `if:` lets it run (no `if:` means `success()`)."""
    cond = workflow["jobs"][job_id].get("if")
    return evaluate("success()" if cond is None else str(cond), ctx, status)


def parse_outputs(text: str) -> dict:
    """GITHUB_OUTPUT: `name=value` lines and `name<<DELIM` ... `DELIM` blocks."""
    out, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def run_job(
    workflow: dict,
    job_id: str,
    workspace: Path,
    event: dict,
    github: dict,
    tmp: Path,
    *,
    contexts: dict | None = None,
    env: dict | None = None,
) -> JobResult:
    """`contexts` adds expression contexts (`secrets`, `inputs`); `env` adds to the runner's environment."""
    job = workflow["jobs"][job_id]
    shell = ((workflow.get("defaults") or {}).get("run") or {}).get("shell", "bash")
    assert shell == "bash", "the stand-in runs bash only"
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(event))
    ctx = {"github": {**github, "event": event}, "steps": {}, "needs": {}, "env": {}, **(contexts or {})}
    base_env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the venv's runrepo
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": github["repository"],
        "GITHUB_BASE_REF": github["base_ref"],
        "GITHUB_HEAD_REF": github["head_ref"],
        "GITHUB_REF": github["ref"],
        "GITHUB_SHA": github["sha"],
        "RUNNER_TEMP": str(tmp),
        **(env or {}),
    }
    base_env.update({k: substitute(v, ctx) for k, v in (workflow.get("env") or {}).items()})
    base_env.update({k: substitute(v, ctx) for k, v in (job.get("env") or {}).items()})
    results, summary, failed = [], [], False
    for n, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {n}"
        if "uses" in step:
            results.append(StepResult(name, skipped=f"action {step['uses'].split('@')[0]} needs the GitHub runner"))
            continue
        if "if" in step:
            results.append(StepResult(name, skipped=f"condition {step['if']!r} is not evaluated by the stand-in"))
            continue
        if failed:
            results.append(StepResult(name, skipped="an earlier step failed"))
            continue
        if NETWORK.search(step["run"]):
            results.append(StepResult(name, skipped="installs packages from the network; the test venv has them"))
            continue
        files = {k: tmp / f"{k.lower()}-{n}" for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV")}
        for f in files.values():
            f.write_text("")
        env = {**base_env, **{k: str(v) for k, v in files.items()}}
        env.update({k: substitute(v, ctx) for k, v in (step.get("env") or {}).items()})
        script = tmp / f"step-{n}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        outputs = parse_outputs(files["GITHUB_OUTPUT"].read_text())
        step_summary = files["GITHUB_STEP_SUMMARY"].read_text()
        summary.append(step_summary)
        base_env.update(parse_outputs(files["GITHUB_ENV"].read_text()))
        if step.get("id"):
            ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": "success" if proc.returncode == 0 else "failure"}
        results.append(StepResult(name, "", proc.returncode, proc.stdout, proc.stderr, outputs, step_summary))
        failed = failed or proc.returncode != 0
    job_outputs = {k: substitute(v, ctx) for k, v in (job.get("outputs") or {}).items()}
    return JobResult(results, "".join(summary), job_outputs, failed)
