"""`runrepo plan` next to the platform: an edited run's earlier version still running, a deleted file's
runs named (and whether merging stops them), and a plan that never fails for the platform's sake."""

from __future__ import annotations

import json

from lifecycle_helpers import BUNDLED, ZERO, emu_fixture, record, repo_fixture, runrepo, submit  # noqa: F401

ONE, TWO = BUNDLED


def _plan(repo, base: str, *args: str) -> tuple[int, dict, str]:
    code, out, err = runrepo(repo, "plan", "--base", base, "--format", "json", *args)
    return code, json.loads(out), err


def _rows(data: dict) -> dict[str, dict]:
    return {r["path"]: r for r in data["runs"]}


def _running(repo, emu) -> tuple[str, dict, dict]:
    assert submit(repo, "--base", ZERO)[0] == 0
    one, two = record(emu, ONE), record(emu, TWO)
    emu.set_status(one["name"], "RUNNING")
    emu.set_status(two["name"], "RUNNING")
    return repo.head(), one, two


def test_an_edit_beside_its_running_version_and_a_deleted_files_run(repo, emu):
    main, one, two = _running(repo, emu)
    repo.edit(ONE, "pile_00_text_document", "pile_01_text_document")
    (repo.path / TWO).unlink()
    repo.commit("edit ONE, drop TWO")
    code, data, _ = _plan(repo, main)  # MOSAICML_API_KEY is set: the platform is read without asking
    rows = _rows(data)
    assert code == 0 and data["platform"].startswith("read 2 platform run(s) in one listing (1 page(s))")
    assert [x["name"] for x in rows[ONE]["live"]] == [one["name"]]
    assert rows[ONE]["live_note"].startswith(f"{one['name']} (RUNNING since ")
    assert "is still live: merging starts the new version beside it, 8 more GPUs while both run" in rows[ONE]["live_note"]
    assert rows[TWO]["live_note"].startswith(f"{two['name']} (RUNNING since ")
    assert "keeps running after the merge (16 GPUs)" in rows[TWO]["live_note"]
    code, out, _ = runrepo(repo, "plan", "--base", main, "--format", "markdown")
    assert f"| deleted (run not stopped): {two['name']} |" in out
    assert "#### On the platform now" in out and "merging starts the new version beside it" in out
    code, out, _ = runrepo(repo, "plan", "--base", main)
    assert f"   platform: {one['name']} (RUNNING since " in out


def test_what_stop_on_delete_would_stop(repo, emu):
    repo.edit("runs/policy.yaml", "on_delete: report", "on_delete: stop")
    repo.commit("stop on delete")
    main, _, two = _running(repo, emu)
    (repo.path / TWO).unlink()
    repo.commit("drop TWO")
    code, data, _ = _plan(repo, main)
    row = _rows(data)[TWO]
    assert code == 0 and row["label"] == "deleted (live runs stopped)"
    assert row["live_note"].startswith(f"merging stops {two['name']} (RUNNING since ") and row["live_note"].endswith(
        "(on_delete: stop)")
    assert not emu.requests("stopRuns")  # plan only reads


def test_the_platform_is_opt_in_and_its_errors_are_one_line(repo, emu, monkeypatch):
    main, one, _ = _running(repo, emu)
    (repo.path / TWO).unlink()
    repo.commit("drop TWO")
    before = len(emu.requests())
    code, data, _ = _plan(repo, main, "--no-platform")
    assert code == 0 and data["platform"] == "" and len(emu.requests()) == before
    monkeypatch.setenv("MOSAICML_API_KEY", "bad-key")
    code, data, _ = _plan(repo, main)
    assert code == 0 and data["platform"].startswith("platform not read (the API key was rejected by ")
    assert "is not known here" in data["platform"] and not _rows(data)[TWO]["live"]
    monkeypatch.delenv("MOSAICML_API_KEY")
    code, data, _ = _plan(repo, main)
    assert code == 0 and data["platform"].startswith("platform not read: which runs merging would stop")
    code, out, _ = runrepo(repo, "plan", "--base", main, "--format", "markdown")
    assert "platform not read: which runs merging would stop" in out
    # a plan with nothing to stop or run beside says nothing about the platform
    repo.write("runs/experiments/new.yaml", (repo.path / ONE).read_text().replace("name: gpt3-126m-1node", "name: new"))
    head = repo.commit("add a run")
    code, data, _ = _plan(repo, head + "~1")
    assert code == 0 and data["platform"] == ""
