"""The vendored corpus (tests/data/corpus) is the shared corpus, byte for byte, when both are here."""

from __future__ import annotations

import pytest
from runrepo_testing import CORPUS, ROOT

SHARED = ROOT.parent / "shared" / "corpus"


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/corpus beside this checkout to compare with")
def test_vendored_copy_equals_the_shared_corpus():
    ours, theirs = _files(CORPUS), _files(SHARED)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
