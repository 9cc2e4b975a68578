"""The stand-in runner's expressions: the `if:` and `${{ }}` forms the workflows use, as GitHub reads them."""

from __future__ import annotations

import pytest
from actions_runner import evaluate, substitute

CTX = {
    "github": {"event": {"repository": {"fork": False, "topics": ["nemo", "RunRepo-Mirror"]}}, "repository": "a/b"},
    "needs": {"changes": {"outputs": {"code": "false", "rules": ""}}},
}


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("${{ !cancelled() }}", True),
        ("${{ !cancelled() && needs.changes.outputs.code != 'false' }}", False),
        ("needs.changes.outputs.code == 'FALSE'", True),  # strings compare case-insensitively
        ("needs.missing.outputs.code != 'false'", True),  # a missing output is '' (not 'false')
        ("needs.changes.outputs.rules || 'x'", True),
        ("github.event.repository.fork", False),
        ("!(github.event.repository.fork || github.repository == 'a/b')", False),
        ("contains(github.event.repository.topics, 'runrepo-mirror')", True),
        ("contains(github.event.repository.topics, 'runrepo')", False),  # an array: whole items only
        ("contains(github.repository, 'A/')", True),  # a string: substring
        ("success() && null == ''", True),
    ],
)
def test_evaluate(expr, expected):
    assert evaluate(expr, CTX) is expected


def test_status_functions_can_be_overridden():
    assert evaluate("!cancelled()", CTX, {"cancelled": True}) is False
    assert evaluate("failure() || success()", CTX, {"success": False, "failure": True}) is True


def test_substitute_renders_values_as_github_does():
    text = "${{ github.event.repository.fork }} ${{ contains(github.event.repository.topics, 'nemo') }} [${{ x.y }}]"
    assert substitute(text, CTX) == "false true []"


@pytest.mark.parametrize("expr", ["fromJSON('1')", "a ==", "(a", "a b", "a[0]", "format('{0}', a)"])
def test_unsupported_forms_fail_loudly(expr):
    with pytest.raises(AssertionError):
        evaluate(expr, CTX)
