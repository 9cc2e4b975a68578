"""Secrets: no literal credential in a run. A run file is committed, shown in every plan and
stored by the platform; credentials belong in mcli secrets, which the platform mounts into
every run (`mcli create secret ...`), and never in the run itself.

Two rules: `secret-literal` for the formats a credential announces itself by (AKIA..., ghp_...,
a PEM private key, ...) anywhere in the run, and `secret-named` for a high-entropy literal
under a name like *KEY*, *TOKEN*, *SECRET*, *PASSWORD*. Messages never repeat the value.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from . import Hit, rule

ENV = "mcli create secret env {name}=<value>"  # exposed to every run as an environment variable
# (what it is, regex, how to store it instead); the regex must not match paths, digests or names
# Every quantifier is bounded: these run over untrusted text (a 1 MiB command must not take minutes).
KNOWN = [
    (
        "an AWS access key id",
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        "mcli create secret s3 --config-file ~/.aws/config --credentials-file ~/.aws/credentials",
    ),
    ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b", ENV),
    ("a GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", ENV),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,255}", ENV),
    (
        "an OpenAI-style API key",
        r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-)?(?=[A-Za-z_-]{0,40}[0-9])[A-Za-z0-9_-]{20,255}",
        ENV,
    ),
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,255}\b", "mcli create secret hf --token <value>"),
    (
        "an NVIDIA NGC API key",
        r"\bnvapi-[A-Za-z0-9_-]{20,255}",
        "mcli create secret docker --docker-server nvcr.io --docker-username '$oauthtoken' --docker-password <key>",
    ),
    ("a Databricks / MosaicML access token", r"\bdapi[0-9a-f]{32}(?:-\d)?\b", ENV),
    ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,255}", ENV),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", ENV),
    (
        "a private key",
        r"-----BEGIN (?:[A-Z0-9]{1,20} ){0,4}PRIVATE KEY(?: BLOCK)?-----",
        "mcli create secret ssh <path-to-key> --mount-path /secrets/key (or `mcli create secret mounted`)",
    ),
    ("a password inside a URL", r"\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@'\"]{1,255}:(?![$%{<*])[^/\s@'\"]{3,255}@", ENV),
]
KNOWN_RE = [(what, re.compile(rx), how) for what, rx, how in KNOWN]
# Values that are a key only because of the name they sit under (40 hex looks like a git SHA elsewhere).
BY_NAME = [
    ("a Weights & Biases API key", re.compile(r"wandb.*(key|token)", re.I), re.compile(r"^[0-9a-f]{40,86}$")),
    ("a MosaicML API key", re.compile(r"^(mosaicml|mcli)_api_key$", re.I), re.compile(r"^\S{8,}$")),
]

SECRET_WORDS = {
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
    "auth",
    "pat",
    "privatekey",
    "accesskey",
    "secretkey",
}
NOT_SECRET_WORDS = {
    "sha",
    "sha1",
    "sha256",
    "sha512",
    "md5",
    "digest",
    "hash",
    "checksum",
    "commit",
    "fingerprint",
    "file",
    "path",
    "dir",
    "name",
    "id",
    "url",
    "env",
    "type",
    "length",
    "len",
    "size",
    "count",
}
_DIGEST = re.compile(r"^(?:sha1|sha256|sha512|md5)[:=-]?[0-9a-fA-F]+$")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# NAME=value and --flag value / --flag=value inside a shell command
_ASSIGN = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]{0,127})=(\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^\s;&|'\"]{1,4096})"
)
_FLAG = re.compile(
    r"--([A-Za-z][A-Za-z0-9_.-]{0,63})(?:=|\s{1,8})(\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^\s;&|'\"-][^\s;&|'\"]{0,4096})"
)


def _walk(value, path=(), name=""):
    """(key path, nearest key name, string, is_key) for every string in a run, keys included."""
    if isinstance(value, str):
        yield path, name, value, False
    elif isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,), str(k), str(k), True  # a token pasted as a key is committed as well
            yield from _walk(v, path + (k,), str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, path + (i,), name)


def _run_and_tool(ctx):
    yield from _walk(ctx.run)
    yield from _walk(ctx.tool, ("runrepo",))


def known(value: str) -> tuple[str, str] | None:
    """(what it is, how to store it) when `value` has a credential's own format."""
    for what, rx, how in KNOWN_RE:
        if rx.search(value):
            return what, how
    return None


def literal(name: str, value: str, is_key: bool = False) -> tuple[str, str, str] | None:
    """(what, how, name) when `value` (or a NAME=value inside it) is a credential by its format."""
    hit = known(value)
    if hit:
        return (*hit, name)
    if is_key:
        return None
    for key, lit in named_values(name, value):
        for what, name_rx, value_rx in BY_NAME:
            if name_rx.search(key) and value_rx.match(lit) and not _reference(lit):
                return what, ENV, key
    return None


def secret_name(name: str) -> bool:
    words = {w.lower() for w in _SPLIT.split(name) if w}
    joined = re.sub(r"[^a-z0-9]", "", name.lower())
    if words & NOT_SECRET_WORDS and not joined.endswith(("key", "token", "secret", "password")):
        return False
    return bool(words & SECRET_WORDS) or joined.endswith(("apikey", "accesskey", "secretkey", "privatekey"))


def entropy(value: str) -> float:
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _reference(value: str) -> bool:
    """`$NAME`, `${NAME}`, `${{ secrets.X }}`, `<fill in>`: a pointer to a secret, not the secret."""
    return value.startswith(("$", "<", "%")) or "${" in value or "{{" in value


def high_entropy(value: str) -> bool:
    """A random-looking token: long, one word, mixed characters, not a path, URL, digest or reference."""
    if not 16 <= len(value) <= 4096 or any(c.isspace() for c in value) or _reference(value):
        return False
    if value.startswith(("/", "./", "../", "~")) or "://" in value or _DIGEST.match(value):
        return False
    classes = sum(bool(re.search(rx, value)) for rx in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return classes >= 2 and entropy(value) >= 3.3


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def named_values(name: str, value: str):
    """(name, value) pairs to judge: the value under its key, and NAME=value / --flag value in commands."""
    yield name, value
    if "\n" in value or "=" in value or "--" in value:
        for m in _ASSIGN.finditer(value):
            yield m.group(1), _unquote(m.group(2))
        for m in _FLAG.finditer(value):
            yield m.group(1), _unquote(m.group(2))


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def _how(how: str, name: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and secret_name(name)
    return how.format(name=name.upper() if plain else "NAME")


@rule(
    "secret-literal",
    "no credential (AWS, GitHub, Slack, OpenAI, Hugging Face, NGC, W&B, MosaicML keys, private keys) in a run",
    example="env_variables:\n  HF_TOKEN: hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567",
    fix="# mcli create secret hf --token ...   (mounted into every run; nothing in the run file)",
)
def secret_literal(ctx):
    for path, _name, _value, _is_key, verdict in _suspects(ctx):
        if verdict[0] == "literal":
            what, how, key = verdict[1]
            yield Hit(
                path,
                f"{_dotted(path)} holds {what} in plain text: everyone who can read the repository or the run "
                f"can use it. Store it as an mcli secret instead (`{_how(how, key)}`), which the platform "
                "mounts into every run, remove it here, and revoke it: it is in git history now",
            )


@rule(
    "secret-named",
    "no high-entropy literal under a secret-looking name (*KEY*, *TOKEN*, *SECRET*, *PASSWORD*) in a run",
    example="env_variables:\n  AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    fix="# mcli create secret s3 ...   (the platform mounts it; nothing in the run file)",
)
def secret_named(ctx):
    for path, _name, _value, _is_key, verdict in _suspects(ctx):
        if verdict[0] == "named":
            _, key, length = verdict
            yield Hit(
                path,
                f"{_dotted(path)}: `{key}` is set to a literal that looks like a credential "
                f"({length} random-looking characters). Store it as an mcli secret "
                f"(`{_how(ENV, key)}`), which the platform exposes to every run, and leave it out of the run",
            )


@lru_cache(maxsize=1 << 16)
def _judge(name: str, value: str, is_key: bool):
    """The verdict on one string: ("literal", hit), ("named", key, length) or None.

    A pure function of its strings, cached: most strings of a run come from shared layers
    and are the same in every run, so a check of many runs judges each of them once.
    """
    hit = literal(name, value, is_key)
    if hit:
        return ("literal", hit)
    if is_key:
        return None  # a key is a name, not a value; secret-literal reports known formats
    for key, lit in named_values(name, value):
        if secret_name(key) and high_entropy(lit):
            return ("named", key, len(lit))
    return None


def _suspects(ctx) -> list:
    """The run's strings with a verdict, walked once per run for both rules."""
    cached = ctx.__dict__.get("_secret_suspects")
    if cached is None:
        cached = [(p, n, v, k, j) for p, n, v, k in _run_and_tool(ctx) if (j := _judge(n, v, k))]
        ctx.__dict__["_secret_suspects"] = cached
    return cached
