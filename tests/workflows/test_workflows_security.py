"""Workflow security by plain YAML inspection: triggers, permissions, pinning, credentials, secrets."""

from __future__ import annotations

import re

import pytest
from wf_helpers import WORKFLOWS, load, steps, workflow_files

FILES = workflow_files()
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def ids(paths):
    return [p.name for p in paths]


def test_there_are_workflows():
    assert (WORKFLOWS / "pr.yml").is_file()


def triggers(wf: dict) -> set[str]:
    on = wf.get("on")
    if isinstance(on, str):
        return {on}
    return set(on or ())


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_privileged_triggers(path):
    bad = triggers(load(path)) & {"pull_request_target", "workflow_run"}
    assert not bad, f"{path.name}: {sorted(bad)} run with secrets and a write token on untrusted code"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_top_level_permissions_are_empty(path):
    wf = load(path)
    assert "permissions" in wf and wf["permissions"] == {}, f"{path.name}: set top-level `permissions: {{}}`"
    for job_id, job in wf["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path.name}: job {job_id} must declare its permissions"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_every_action_is_pinned_to_a_commit_with_its_version_named(path):
    lines = path.read_text().splitlines()
    for job_id, _job, step in steps(load(path)):
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert SHA_PIN.match(uses), f"{path.name}: job {job_id}: `{uses}` is not pinned to a 40-hex commit SHA"
        line = next(x for x in lines if f"uses: {uses}" in x)
        assert re.search(r"#\s*v\d", line), f"{path.name}: `{uses}` needs a `# vX.Y.Z` comment naming the release"
    for job_id, job in load(path)["jobs"].items():  # reusable workflows too
        if "uses" in job and not job["uses"].startswith("./"):
            assert re.search(r"@[0-9a-f]{40}$", job["uses"]), f"{path.name}: job {job_id} reusable workflow unpinned"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_checkout_never_persists_credentials(path):
    for job_id, _job, step in steps(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            value = str((step.get("with") or {}).get("persist-credentials", "")).lower()
            assert value == "false", f"{path.name}: job {job_id}: actions/checkout needs `persist-credentials: false`"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_expressions_inside_scripts(path):
    """`${{ }}` in a script is pasted in before the shell parses it: values reach scripts through env."""
    for job_id, _job, step in steps(load(path)):
        for text in (step.get("run"), (step.get("with") or {}).get("script")):
            if isinstance(text, str):
                assert not EXPR.search(text), f"{path.name}: job {job_id}: move `${{{{ }}}}` into `env:`"


@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_no_suppressed_audits(path):
    assert "zizmor: ignore" not in path.read_text(), f"{path.name}: fix the finding instead of silencing zizmor"


def secret_jobs(wf: dict) -> set[str]:
    """Jobs whose definition mentions `secrets.` inside an expression (or inherits secrets)."""
    out = set()
    for job_id, job in wf["jobs"].items():
        text = repr(job)
        if any("secrets" in m for m in EXPR.findall(text)) or job.get("secrets") == "inherit":
            out.add(job_id)
    if any("secrets" in m for m in EXPR.findall(repr({k: v for k, v in wf.items() if k != "jobs"}))):
        out.add("<workflow level>")
    return out


def test_pull_request_workflow_has_no_secrets_and_least_privilege():
    wf = load(WORKFLOWS / "pr.yml")
    assert not re.search(r"secrets\s*(\.|\[)", (WORKFLOWS / "pr.yml").read_text())
    assert secret_jobs(wf) == set()
    writes = {
        (job_id, scope)
        for job_id, job in wf["jobs"].items()
        for scope, level in job["permissions"].items()
        if level == "write"
    }
    assert writes == {("comment", "pull-requests")}
    comment = wf["jobs"]["comment"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert not any("run" in s for s in comment["steps"]), "the job that can write runs no pull-request code"
    assert "checkout" not in repr(comment)
    assert wf["concurrency"] == {"group": "pr-${{ github.event.pull_request.number }}", "cancel-in-progress": "true"}
    (checkout,) = [s for s in wf["jobs"]["plan"]["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert str(checkout["with"]["fetch-depth"]) == "0"
    assert triggers(wf) == {"pull_request"}


# the jobs that read the platform key (status.yml's catch-up submits runs that waited for their data)
SECRET_JOBS = {"submit.yml": {"submit"}, "status.yml": {"status", "catch-up"}}


def test_secrets_only_in_the_submit_and_status_jobs():
    for path in FILES:
        assert secret_jobs(load(path)) <= SECRET_JOBS.get(path.name, set()), f"{path.name} references secrets"


def test_secrets_come_from_a_protected_environment():
    """zizmor's secrets-outside-env: a job that reads a secret names its environment (README: `platform`)."""
    for path in FILES:
        wf = load(path)
        for job_id in secret_jobs(wf) - {"<workflow level>"}:
            assert wf["jobs"][job_id].get("environment") == "platform", f"{path.name}: job {job_id}"
    assert "submit" in secret_jobs(load(WORKFLOWS / "submit.yml"))
    assert "status" in secret_jobs(load(WORKFLOWS / "status.yml"))


def test_the_plan_job_runs_no_code_from_the_pull_request():
    """Only the base commit's tool: no install of the checkout, no `runrepo` from PATH, no script of the head."""
    job = load(WORKFLOWS / "pr.yml")["jobs"]["plan"]
    scripts = [s["run"] for s in job["steps"] if "run" in s]
    for text in scripts:
        assert not re.search(r"pip3?\s+install\b(?!.*\$RUNNER_TEMP/base/)", text), text
        code = "\n".join(x for x in text.splitlines() if not x.lstrip().startswith("#"))
        command = r"(^|[;&|(])\s*(\S*runrepo|\./\S+|bash|sh|source|\.|make|pre-commit|npm|pytest)(\s|$)"
        assert not re.search(command, code, re.M), text
    (plan,) = [t for t in scripts if "runrepo.cli plan" in t]
    assert plan.index('cd "$RUNNER_TEMP/base/tools"') < plan.index("python -m runrepo.cli plan")
