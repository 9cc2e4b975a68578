"""Helpers for the hardening tests: materialise a corpus case, run the CLI, read its finding lines."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

from hardening_cases import Big, Case, Link
from runrepo.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
# `file:line:col: severity[rule] message` or `file: severity[rule] message` (no line)
FINDING = re.compile(
    r"^(?P<file>.+?)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<sev>error|warning)\[(?P<rule>[^\]]+)\] (?P<msg>.*)$"
)
SUMMARY = re.compile(r"^\d+ run\(s\) checked: \d+ error\(s\), \d+ warning\(s\)$")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def materialize(case: Case, tmp: Path) -> Path:
    """A copy of runs/ under tmp/repo with the case's files written over it; tmp/outside is outside."""
    repo, outside = tmp / "repo", tmp / "outside"
    shutil.copytree(ROOT / "runs", repo / "runs", symlinks=True)
    outside.mkdir(exist_ok=True)
    (outside / "secret.yaml").write_text("# @package _global_\nstolen: true\n")
    for rel, content in case.files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove(path)
        if isinstance(content, Link):
            path.symlink_to(content.target.replace("{outside}", str(outside)))
        elif isinstance(content, Big):
            write_big(path, content)
        elif isinstance(content, tuple):  # ("replace", old, new) on the bundled file
            _, old, new = content
            text = (ROOT / rel).read_text()
            assert old in text, f"{rel} no longer contains {old!r}: update the case"
            path.write_text(text.replace(old, new, 1))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode())
    return repo


def write_big(path: Path, big: Big) -> None:
    with path.open("wb") as f:
        f.write(big.head.encode())
        chunk = (big.fill * max(1, (1 << 20) // len(big.fill))).encode()
        left = big.size - len(big.head)
        while left > 0:
            f.write(chunk[:left])
            left -= len(chunk)


def expected_line(case: Case, repo: Path) -> int:
    """The case's line as a number: a text on it is looked up in the materialised file."""
    if case.line is None:
        return 0
    if isinstance(case.line, int):
        return case.line
    needle, nth = case.line if isinstance(case.line, tuple) else (case.line, 1)
    lines = (repo / case.file).read_bytes().decode("utf-8", "replace").splitlines()
    hits = [i for i, text in enumerate(lines, 1) if needle in text]
    assert len(hits) >= nth, f"{needle!r} (occurrence {nth}) not in {case.file}"
    return hits[nth - 1]


def cli(*argv: str) -> tuple[int, str, str]:
    """runrepo in-process; stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def parse(output: str) -> tuple[list[dict], list[str]]:
    """(finding lines as dicts, lines that are neither findings nor the summary)."""
    findings, other = [], []
    for line in output.splitlines():
        m = FINDING.match(line)
        if m:
            d = m.groupdict()
            d["line"] = int(d["line"] or 0)
            findings.append(d)
        elif line.strip() and not SUMMARY.match(line):
            other.append(line)
    return findings, other
