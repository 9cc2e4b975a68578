"""Secrets: no literal credential in a run. A run file is committed, shown in every plan and
stored by the platform; credentials belong in mcli secrets, which the platform mounts into
every run (`mcli create secret ...`), and never in the run itself.

Two rules over every string of the expanded run (after interpolation; keys, `command` and
integration URLs included) and of its `runrepo:` section: `secret-literal` for a credential in
its own format, `secret-named` for a random-looking literal under a secret-looking name. The
detector is `secret_detect` (detect-secrets plus the formats it lacks). Messages never repeat
the value.

For outputs (render, plan, submit summaries): `secret_values` and `redact` give the same
verdicts as the rules, so a flagged value is never printed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .registry import Hit, rule
from .secret_detect import CACHE, CLEAN_KEYS, Verdict, decoded, entropy, high_entropy, judge, named_values, secret_name

if TYPE_CHECKING:
    from ..compose.gate import Json, KeyPath
    from .context import RunCtx

    Suspect = tuple[KeyPath, Verdict, str]  # where a flagged string is, the verdict, the string

REDACTED = "«redacted: {rule}»"

__all__ = [
    "REDACTED", "Verdict", "decoded", "entropy", "flagged", "high_entropy", "judge", "named_values", "redact",
    "secret_name", "secret_values",
]  # fmt: skip


def _dotted(path: KeyPath) -> str:
    return ".".join(map(str, path))


@rule(
    "secret-literal",
    "no credential (AWS, Azure, GitHub, Slack, OpenAI, Hugging Face, NGC, W&B, MosaicML keys, private keys) in a run",
    example="env_variables:\n  HF_TOKEN: hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567  #<",
    fix="env_variables:\n  HF_HOME: /mnt/hf   # the token: `mcli create secret hf --token ...`, mounted into every run",
)
def secret_literal(ctx: RunCtx) -> Iterator[Hit]:
    for path, v, _text in _suspects(ctx):
        if v.rule == "secret-literal":
            yield Hit(
                path,
                f"{_dotted(path)} holds {v.what} in plain text: everyone who can read the repository or the run "
                f"can use it. Store it as an mcli secret instead (`{v.store()}`), which the platform "
                "mounts into every run, remove it here, and revoke it: it is in git history now",
            )


@rule(
    "secret-named",
    "no high-entropy literal under a secret-looking name (*KEY*, *TOKEN*, *SECRET*, *PASS*, *CREDS*) in a run",
    example="env_variables:\n  AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY  #<",
    fix="env_variables:\n  AWS_DEFAULT_REGION: us-east-1   # the keys: `mcli create secret s3 ...`, mounted into every run",
)
def secret_named(ctx: RunCtx) -> Iterator[Hit]:
    for path, v, _text in _suspects(ctx):
        if v.rule == "secret-named":
            yield Hit(
                path,
                f"{_dotted(path)}: `{v.name}` is set to a literal that looks like a credential "
                f"({v.length} random-looking characters). Store it as an mcli secret "
                f"(`{v.store()}`), which the platform exposes to every run, and leave it out of the run",
            )


class _Miss(enum.Enum):
    MISS = enum.auto()  # not in judge's cache (None there is a verdict: clean)


_MISS = _Miss.MISS


def _scan(node: Json, path: KeyPath, name: str, out: list[Suspect]) -> None:
    """(path, verdict, string) of every flagged string under `node`; paths are built only for a hit.

    The hot loop of `check --all` (hundreds of strings per run, nearly all seen before): verdicts
    are looked up in judge's cache inline, and keys found clean are remembered in a set.
    """
    cache, clean = CACHE, CLEAN_KEYS
    if isinstance(node, dict):
        for k, v in node.items():
            k = k if type(k) is str else str(k)
            if k not in clean:  # a token pasted as a key is committed as well
                if hit := judge(k, k, True):
                    out.append((path + (k,), hit, k))
                else:
                    clean.add(k)
            if type(v) is str:
                cached = cache.get((k, v, False), _MISS)
                verdict = judge(k, v) if cached is _MISS else cached
                if verdict:
                    out.append((path + (k,), verdict, v))
            elif isinstance(v, (dict, list)):
                _scan(v, path + (k,), k, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if type(v) is str:
                if hit := judge(name, v):
                    out.append((path + (i,), hit, v))
            elif isinstance(v, (dict, list)):
                _scan(v, path + (i,), name, out)
    elif isinstance(node, str) and (hit := judge(name, node)):
        out.append((path, hit, node))


def _suspects(ctx: RunCtx) -> list[Suspect]:
    """The run's flagged strings, walked once per run for both rules."""
    cached: list[Suspect] | None = ctx.__dict__.get("_secret_suspects")
    if cached is None:
        cached = []
        _scan(ctx.run, (), "", cached)
        _scan(ctx.tool, ("runrepo",), "runrepo", cached)
        ctx.__dict__["_secret_suspects"] = cached
    return cached


def flagged(ctx: RunCtx) -> dict[str, str]:
    """The strings of one checked run that the secret rules flag -> rule id (the rules' own walk)."""
    return {text: v.rule for _path, v, text in _suspects(ctx)}


def secret_values(run: Json, tool: Json = None) -> dict[str, str]:
    """Every string of an expanded run that a secret rule flags, mapped to that rule's id.

    `run` is the expanded run (or any part of it: a section, a list, one string) and `tool` its
    `runrepo:` section. Keys count as strings. The verdicts are exactly those of `runrepo check`'s
    secret rules on the same values (same detector, same key names), so an output that replaces
    each of these strings (see `redact`) prints nothing the rules flagged. Pure and cached.
    """
    out: list[Suspect] = []
    _scan(run, (), "", out)
    if tool is not None:
        _scan(tool, ("runrepo",), "runrepo", out)
    flagged: dict[str, str] = {}
    for _path, v, text in out:
        flagged.setdefault(text, v.rule)
    return flagged


def redact(value: Json, name: str = "") -> Json:
    """A copy of `value` in which every string a secret rule flags is `«redacted: <rule-id>»`.

    `value` is anything of an expanded run: the whole run, the `runrepo:` section, a section, a
    list or one string (`name` is then the key it sits under: a random literal is a secret under
    `DB_PASS`, not under `model`). Mapping keys are judged and replaced too (suffixed ` #2`, ...
    when two keys of one mapping are redacted). Whole strings are replaced, never part of one, so
    no fragment of a flagged value survives; everything else is returned as it was (same types,
    same order). Use it on the data before rendering or diffing: text that was rendered already
    may have wrapped or escaped a value beyond recognition.
    """
    if isinstance(value, str):
        v = judge(name, value)
        return REDACTED.format(rule=v.rule) if v else value
    if isinstance(value, list):
        return [redact(x, name) for x in value]
    if isinstance(value, dict):
        out: dict[str, Json] = {}
        for k, v in value.items():
            key = k
            if isinstance(k, str) and (hit := judge(k, k, True)):
                key = REDACTED.format(rule=hit.rule)
                n = 1
                while key in out or key in value:
                    n += 1
                    key = f"{REDACTED.format(rule=hit.rule)} #{n}"
            out[key] = redact(v, str(k))
        return out
    return value
