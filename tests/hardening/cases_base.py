"""The bad-input corpus, part 0: case types and helpers. Cases: each case is files written into a copy of runs/ and the one finding expected.

A case names the rule id, the file and the line of the finding `runrepo check` must print
(`line` is a 1-based number, or a text that appears on the expected line: cases say which
line by its content, so editing a template does not silently shift them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RUN = "runs/experiments/bad.yaml"
HEAD = """\
# @package _global_
defaults:
  - /nemo: v1_13
  - /base
  - /cluster: r7z2
  - /node: single_node
  - /model: gpt3_126m
  - _self_
"""
NAME = "name: bad-run\n"
PREFIX = "    data:\n      data_prefix: [1.0, /mnt/data/pile/pile_00_text_document]\n"
DATA = "parameters:\n  model:\n" + PREFIX


@dataclass(frozen=True)
class Link:
    """A symlink; `{outside}` in the target is a folder outside the repository."""

    target: str


@dataclass(frozen=True)
class Big:
    """A file of `size` bytes: `head`, then `fill` repeated (written lazily: 20 MB is not kept in memory)."""

    size: int
    head: str = "# @package _global_\n"
    fill: str = "x: 1\n"


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    files: dict
    rule: str | None  # None: the input is valid, nothing may be reported
    file: str = RUN
    line: int | str | tuple | None = None  # number, text on the line, (text, nth occurrence); None: no line
    run: str = RUN  # what `runrepo check` is given
    also: tuple = ()  # rules that legitimately report the same mistake too (say why in the case)
    extra: dict = field(default_factory=dict)


def run(top: str = "", params: str = "", head: str = HEAD, name: str = NAME, model: str = "") -> str:
    """A valid run file plus `top` (top-level YAML), `model` (under parameters.model), `params` (under parameters)."""
    return head + name + top + "parameters:\n  model:\n" + model + PREFIX + params


CASES: list[Case] = []


def case(id: str, category: str, files, rule: str | None, **kw) -> None:
    if isinstance(files, str):
        files = {RUN: files}
    files = files if RUN in files else {**files, RUN: run()}  # a shared layer's mistake, met by a valid run
    CASES.append(Case(id, category, files, rule, **kw))
