"""The `repo` fixture: a temporary repository to write run files into and check."""

from __future__ import annotations

import pytest
from rulekit import Repo


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path / "repo")
