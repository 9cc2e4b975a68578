"""The secret detector behind the secret rules: detect-secrets' plugins, plus the few formats it lacks.

`judge(name, value)` says whether one string of a run (a value under its key `name`, or a key)
is a credential, and what kind. It is pure and cached per string: most strings of a run come
from shared layers, so a check of many runs judges each of them once.

What is scanned, for every string: the string itself; every base64 segment in it, decoded
(`echo <b64> | base64 -d > ~/.aws/credentials`); and the (name, value) pairs inside it:
`NAME=value`, `--flag value`, URL query parameters, `wandb login KEY`,
`aws configure set NAME VALUE`.

Two verdicts:
- `secret-literal`: a credential's own format. detect-secrets (AWS, Azure storage, Slack tokens
  and webhooks, JWT, passwords in URLs, private keys, GitHub, GitLab, Stripe, Twilio, SendGrid, npm,
  PyPI, ...), and our own detectors for what detect-secrets 1.5 lacks: Hugging Face `hf_`, NGC
  `nvapi-`, Databricks/MosaicML `dapi`, GitHub fine-grained `github_pat_`, current OpenAI `sk-`
  keys, Google `AIza`, Azure SAS signatures (`sig=`), W&B keys (40+ hex under a W&B name or after
  `wandb login`), and any literal under MOSAICML_API_KEY.
- `secret-named`: a random-looking literal under a secret-looking name (ours, or detect-secrets'
  keyword list: `DB_PASS`, `S3_CREDS`, `apiKey`, ...).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from detect_secrets.filters.heuristic import is_sequential_string, is_templated_secret
from detect_secrets.plugins import (
    artifactory,
    aws,
    azure_storage_key,
    basic_auth,
    cloudant,
    discord,
    github_token,
    gitlab_token,
    ibm_cloud_iam,
    ibm_cos_hmac,
    jwt,
    mailchimp,
    npm,
    private_key,
    pypi_token,
    sendgrid,
    slack,
    softlayer,
    square_oauth,
    stripe,
    telegram_token,
    twilio,
)
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.keyword import CONFIG_DENYLIST_REGEX_TO_GROUP, KeywordDetector

if TYPE_CHECKING:
    from detect_secrets.plugins.base import RegexBasedDetector

ENV = "mcli create secret env {name}=<value>"  # exposed to every run as an environment variable
S3 = "mcli create secret s3 --config-file ~/.aws/config --credentials-file ~/.aws/credentials"
SSH = "mcli create secret ssh <path-to-key> --mount-path /secrets/key (or `mcli create secret mounted`)"
NGC = "mcli create secret docker --docker-server nvcr.io --docker-username '$oauthtoken' --docker-password <key>"
HF = "mcli create secret hf --token <value>"

# detect-secrets' plugins, one instance each: (plugin, what it is, how to store it, env name to suggest).
# Left out: IPPublicDetector (an address is not a credential) and OpenAIDetector (it only knows the
# legacy `T3BlbkFJ` keys, and backtracks quadratically on `sk-sk-sk-...`; OWN covers every sk- key).
PLUGINS: list[tuple[RegexBasedDetector, str, str, str]] = [
    (aws.AWSKeyDetector(), "an AWS access key", S3, "AWS_SECRET_ACCESS_KEY"),
    (azure_storage_key.AzureStorageKeyDetector(), "an Azure storage account key", ENV, "AZURE_STORAGE_KEY"),
    (basic_auth.BasicAuthDetector(), "a password inside a URL", ENV, "NAME"),
    (slack.SlackDetector(), "a Slack token or webhook URL", ENV, "SLACK_WEBHOOK_URL"),
    (jwt.JwtTokenDetector(), "a JSON Web Token", ENV, "NAME"),
    (private_key.PrivateKeyDetector(), "a private key", SSH, "NAME"),
    (github_token.GitHubTokenDetector(), "a GitHub token", ENV, "GITHUB_TOKEN"),
    (gitlab_token.GitLabTokenDetector(), "a GitLab token", ENV, "GITLAB_TOKEN"),
    (stripe.StripeDetector(), "a Stripe key", ENV, "NAME"),
    (twilio.TwilioKeyDetector(), "a Twilio key", ENV, "NAME"),
    (sendgrid.SendGridDetector(), "a SendGrid key", ENV, "NAME"),
    (mailchimp.MailchimpDetector(), "a Mailchimp key", ENV, "NAME"),
    (npm.NpmDetector(), "an npm token", ENV, "NPM_TOKEN"),
    (pypi_token.PypiTokenDetector(), "a PyPI token", ENV, "PYPI_TOKEN"),
    (artifactory.ArtifactoryDetector(), "an Artifactory credential", ENV, "NAME"),
    (discord.DiscordBotTokenDetector(), "a Discord bot token", ENV, "NAME"),
    (telegram_token.TelegramBotTokenDetector(), "a Telegram bot token", ENV, "NAME"),
    (square_oauth.SquareOAuthDetector(), "a Square OAuth secret", ENV, "NAME"),
    (cloudant.CloudantDetector(), "a Cloudant credential", ENV, "NAME"),
    (ibm_cloud_iam.IbmCloudIamDetector(), "an IBM Cloud IAM key", ENV, "NAME"),
    (ibm_cos_hmac.IbmCosHmacDetector(), "an IBM COS HMAC key", ENV, "NAME"),
    (softlayer.SoftlayerDetector(), "a SoftLayer credential", ENV, "NAME"),
]
# Formats detect-secrets lacks. Every quantifier is bounded: these run over untrusted text.
OWN = [
    ("a Hugging Face token", r"\bhf_[A-Za-z0-9]{30,255}\b", HF, "HF_TOKEN"),
    ("an NVIDIA NGC API key", r"\bnvapi-[A-Za-z0-9_-]{20,255}", NGC, "NGC_API_KEY"),
    ("a Databricks / MosaicML access token", r"\bdapi[0-9a-f]{32}(?:-\d)?\b", ENV, "DATABRICKS_TOKEN"),
    ("a GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", ENV, "GITHUB_TOKEN"),
    (
        "an OpenAI-style API key",
        r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-)?(?=[A-Za-z_-]{0,40}[0-9])[A-Za-z0-9_-]{20,255}",
        ENV,
        "OPENAI_API_KEY",
    ),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b", ENV, "GOOGLE_API_KEY"),
    ("an Azure SAS token", r"[?&]sig=[A-Za-z0-9%+/]{20,255}", ENV, "AZURE_STORAGE_SAS_TOKEN"),
]
OWN_RE = [(what, re.compile(rx), how, env) for what, rx, how, env in OWN]
# Values that are a key only because of the name they sit under (40 hex looks like a git SHA elsewhere).
BY_NAME = [
    ("a Weights & Biases API key", re.compile(r"wandb.*(key|token)", re.I), re.compile(r"^[0-9a-f]{40,86}$")),
    ("a MosaicML API key", re.compile(r"^(mosaicml|mcli)_api_key$", re.I), re.compile(r"^\S{8,}$")),
]
NAMED_FORMAT = {aws.AWSKeyDetector, cloudant.CloudantDetector, ibm_cloud_iam.IbmCloudIamDetector}
NAMED_FORMAT |= {ibm_cos_hmac.IbmCosHmacDetector, softlayer.SoftlayerDetector}  # they read `name: "value"`
_KEYWORD = KeywordDetector()


def _union(patterns: Iterable[re.Pattern[str]]) -> re.Pattern[str]:
    """One regex matching where any of `patterns` matches: strings that match none (nearly all of a
    run) cost one search instead of one per plugin. Each keeps its flags in a scoped group."""
    letters = {re.IGNORECASE: "i", re.VERBOSE: "x", re.MULTILINE: "m", re.DOTALL: "s"}
    parts = []
    for rx in patterns:
        flags = "".join(ch for flag, ch in letters.items() if rx.flags & flag)
        parts.append(f"(?{flags}:{rx.pattern})" if flags else f"(?:{rx.pattern})")
    return re.compile("|".join(parts))


ANY_FORMAT = _union([rx for p, *_ in PLUGINS for rx in p.denylist] + [rx for _, rx, _, _ in OWN_RE])
ANY_NAMED_FORMAT = _union([rx for p, *_ in PLUGINS if type(p) in NAMED_FORMAT for rx in p.denylist])
_B64, _HEX = Base64HighEntropyString(), HexHighEntropyString()

SECRET_WORDS = {
    "key", "apikey", "token", "secret", "password", "passwd", "pwd", "pass", "passphrase", "credential",
    "credentials", "cred", "creds", "auth", "authorization", "bearer", "pat", "privatekey", "accesskey",
    "secretkey", "sig", "signature",
}  # fmt: skip
NOT_SECRET_WORDS = {
    "sha", "sha1", "sha256", "sha512", "md5", "digest", "hash", "checksum", "commit", "fingerprint",
    "file", "path", "dir", "name", "id", "url", "env", "type", "length", "len", "size", "count",
}  # fmt: skip
_DIGEST = re.compile(r"^(?:sha1|sha256|sha512|md5)[:=-]?[0-9a-fA-F]+$")
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
# NAME=value, --flag value / --flag=value, URL query parameters, HTTP auth headers, and two CLIs that take a key
_VAL = r"(\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^\s;&|'\"]{1,4096})"
_ASSIGN = re.compile(r"(?:^|[\s;&|(?])(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]{0,127})=" + _VAL)
_FLAG = re.compile(
    r"--([A-Za-z][A-Za-z0-9_.-]{0,63})(?:=|\s{1,8})(\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^\s;&|'\"-][^\s;&|'\"]{0,4096})"
)
_WANDB = re.compile(r"\bwandb\s{1,8}login\b([^;&|\n]{0,4096})")  # wandb login [OPTIONS] [KEY]
_AWS_SET = re.compile(r"\baws\s{1,8}configure\s{1,8}set\s{1,8}(?:[\w-]{1,64}\.)?([A-Za-z_]{1,64})\s{1,8}" + _VAL)
_HEADER = re.compile(
    r"\b(authorization|proxy-authorization|x-api-key|api-key|private-token)\s{0,4}:\s{0,4}"
    r"(?:bearer\s{1,4}|basic\s{1,4}|token\s{1,4})?([^\s'\"]{1,4096})",
    re.I,
)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{20,65536}={0,2}")
LINE, STEP = 2048, 1536  # long lines are scanned in overlapping windows: some plugins backtrack quadratically


@dataclass(frozen=True)
class Verdict:
    """What a string holds: the rule that reports it, what it is, how to store it, the name it sits under."""

    rule: str  # "secret-literal" | "secret-named"
    what: str
    how: str  # a command with `{name}` where the env name goes
    name: str  # the key the credential sits under (the string's own, or NAME in NAME=value)
    env: str = "NAME"  # the env name to suggest when `name` is not one
    length: int = 0  # secret-named: the literal's length

    def store(self) -> str:
        """How to store it instead, with the env name filled in."""
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name) and (secret_name(self.name) or self.name.isupper())
        return self.how.format(name=self.name.upper() if plain else self.env)


@lru_cache(maxsize=1 << 14)
def secret_name(name: str) -> bool:
    """A name that holds credentials: a word key, token, secret, password, creds, ... (not *_file, *_sha256)."""
    words = {w.lower() for w in _SPLIT.split(name) if w}
    joined = re.sub(r"[^a-z0-9]", "", name.lower())
    if words & NOT_SECRET_WORDS and not joined.endswith(("key", "token", "secret", "password")):
        return False
    if words & SECRET_WORDS or joined.endswith(("apikey", "accesskey", "secretkey", "privatekey")):
        return True
    return len(name) <= 128 and any(True for _ in _KEYWORD.analyze_string(f"{name}: x", CONFIG_DENYLIST_REGEX_TO_GROUP))


def entropy(value: str) -> float:
    counts = {c: value.count(c) for c in set(value)}
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def reference(value: str) -> bool:
    """`$NAME`, `${NAME}`, `${{ secrets.X }}`, `<fill in>`: a pointer to a secret, not the secret."""
    return value.startswith(("$", "<", "%")) or "${" in value or "{{" in value or is_templated_secret(value)


def high_entropy(value: str) -> bool:
    """A random-looking token: long, one word, mixed characters, not a path, URL, digest or reference.

    Ours (16+ characters, 2+ character classes, 3.3+ bits) or detect-secrets' base64/hex limits.
    """
    if not 16 <= len(value) <= 4096 or any(c.isspace() for c in value) or reference(value):
        return False
    if value.startswith(("/", "./", "../", "~")) or "://" in value or _DIGEST.match(value):
        return False
    if is_sequential_string(value):
        return False
    classes = sum(bool(re.search(rx, value)) for rx in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    if classes >= 2 and entropy(value) >= 3.3:
        return True
    return any(
        p.calculate_shannon_entropy(value) > p.entropy_limit for p in (_B64, _HEX) if not set(value) - set(p.charset)
    )


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value


def named_values(name: str, value: str) -> Iterator[tuple[str, str]]:
    """(name, value) pairs to judge: the value under its key, and the pairs written inside it."""
    yield name, value
    if "=" in value or "--" in value:
        for m in _ASSIGN.finditer(value):
            yield m.group(1), _unquote(m.group(2))
        for m in _FLAG.finditer(value):
            yield m.group(1), _unquote(m.group(2))
    if "wandb" in value:
        for m in _WANDB.finditer(value):  # every argument that is not an option may be the key
            for arg in m.group(1).split():
                if not arg.startswith("-"):
                    yield "WANDB_API_KEY", _unquote(arg)
    if ":" in value:
        for m in _HEADER.finditer(value):
            yield m.group(1), m.group(2)
    if "configure" in value:
        for m in _AWS_SET.finditer(value):
            yield m.group(1), _unquote(m.group(2))


def decoded(value: str, limit: int = 32) -> list[str]:
    """The text inside base64 segments of `value` (standard or URL-safe) that decode to printable text."""
    out = []
    for m in _BASE64.finditer(value):
        seg = m.group(0).rstrip("=")
        if len(seg) % 4 == 1:
            continue
        seg += "=" * (-len(seg) % 4)
        try:
            raw = base64.b64decode(seg.replace("-", "+").replace("_", "/"), validate=True)
            text = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if len(text) >= 12 and all(c.isprintable() or c in "\n\r\t" for c in text):
            out.append(text)
            if len(out) >= limit:
                break
    return out


def _pieces(text: str) -> Iterator[str]:
    for line in text.splitlines() or [""]:
        if len(line) <= LINE:
            yield line
        else:
            yield from (line[i : i + LINE] for i in range(0, len(line) - LINE + STEP, STEP))


def _plugin_hit(plugin: RegexBasedDetector, text: str) -> bool:
    for secret in plugin.analyze_string(text):
        if secret and not reference(secret):
            return True
    return False


def format_of(text: str) -> tuple[str, str, str] | None:
    """(what, how, env name) when `text` holds a credential in its own format, anywhere in it."""
    for piece in _pieces(text):
        if not ANY_FORMAT.search(piece):
            continue
        for what, rx, how, env in OWN_RE:
            if rx.search(piece):
                return what, how, env
        for plugin, what, how, env in PLUGINS:
            if _plugin_hit(plugin, piece):
                return what, how, env
    return None


def _named_format(key: str, lit: str) -> tuple[str, str, str] | None:
    """Formats known by the name they sit under: W&B and MosaicML keys, detect-secrets' `aws... key: "..."`."""
    if reference(lit):
        return None
    for what, name_rx, value_rx in BY_NAME:
        if name_rx.search(key) and value_rx.match(lit):
            return what, ENV, "WANDB_API_KEY" if "Weights" in what else "MOSAICML_API_KEY"
    if len(key) + len(lit) <= LINE and "\n" not in lit and '"' not in lit:
        line = f'{key}: "{lit}"'
        for plugin, what, how, env in PLUGINS if ANY_NAMED_FORMAT.search(line) else ():
            if type(plugin) in NAMED_FORMAT and _plugin_hit(plugin, line):
                return what, how, env
    return None


CACHE: dict[tuple[str, str, bool], Verdict | None] = {}  # (name, value, is_key) -> Verdict | None
CLEAN_KEYS: set[str] = set()  # keys judged clean (the rules' walk skips them)


def judge(name: str, value: str, is_key: bool = False) -> Verdict | None:
    """The verdict on one string of a run: a value under its key `name`, or (is_key) a key."""
    k = (name, value, is_key)
    if k not in CACHE:
        if len(CACHE) > 1 << 17:  # bounded memory for fuzzers and huge repositories
            CACHE.clear()
            CLEAN_KEYS.clear()
        CACHE[k] = _judge(name, value, is_key)
    return CACHE[k]


def _judge(name: str, value: str, is_key: bool) -> Verdict | None:
    texts = [value, *decoded(value)]
    for i, text in enumerate(texts):
        hit = format_of(text)
        if hit:
            what = hit[0] + (" (base64-encoded)" if i else "")
            return Verdict("secret-literal", what, hit[1], name, hit[2])
    if is_key:
        return None  # a key is a name, not a value: only a credential's own format is reported
    pairs = list(named_values(name, value))
    for text in texts[1:]:  # the pairs written inside decoded text, not the decoded text itself
        pairs.extend(list(named_values(name, text))[1:])
    for key, lit in pairs:
        hit = _named_format(key, lit)
        if hit:
            return Verdict("secret-literal", hit[0], hit[1], key, hit[2])
    for key, lit in pairs:
        if high_entropy(lit) and secret_name(key):
            how = S3 if "aws" in key.lower() else ENV  # an AWS secret key is half of an s3 secret
            return Verdict("secret-named", "a random-looking literal", how, key, "NAME", len(lit))
    return None
