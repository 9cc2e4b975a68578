"""Shared fixtures: throwaway copies of runs/, the corpus, and the CLI run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from runrepo_testing import CORPUS, ROOT, Cli


@pytest.fixture
def corpus() -> Path:
    return CORPUS


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the project's runs/ in a temporary folder, to edit freely."""
    shutil.copytree(ROOT / "runs", tmp_path / "runs")
    return tmp_path


@pytest.fixture
def cli(capsys) -> Cli:
    return Cli(capsys)
