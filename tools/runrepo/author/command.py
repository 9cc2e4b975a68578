"""A legacy mcli `command:` read for what it meant: the NeMo launch, its Hydra overrides, the rest.

The seed files start NeMo's pretraining script with `--config-name` and Hydra overrides on the
command line, sometimes inside a GNU parallel argument. This finds that launch (also inside
quotes), parses each override with Hydra's own override grammar, and returns every other
command line so that the importer can say what is not carried over.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

SCRIPT = "megatron_gpt_pretraining"
CONFIG_FLAGS = ("--config-path", "--config-name", "--config-dir", "-cp", "-cn", "-cd")


@dataclass
class Override:
    text: str  # as written (after shell unquoting)
    key: str
    value: object = None
    kind: str = "set"  # set | add | force-add | delete
    error: str = ""  # Hydra could not parse it


@dataclass
class Launch:
    found: bool = False
    prefix: list[str] = field(default_factory=list)  # tokens before the script: env, launcher, python
    config_flags: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # other --options given to the script
    overrides: list[Override] = field(default_factory=list)
    script: str = ""
    other_lines: list[str] = field(default_factory=list)  # command lines that are not the launch
    downloads: list[str] = field(default_factory=list)  # file names fetched by wget/curl lines

    @property
    def launcher(self) -> str:
        words = " ".join(self.prefix)
        for name in ("parallel", "torchrun", "mpirun", "srun", "deepspeed"):
            if re.search(rf"(^|[\s/|]){name}(\s|$)", words):
                return name
        return ""


def _split(text: str) -> list[str]:
    try:
        lex = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        lex.commenters = ""
        return list(lex)
    except ValueError:  # unbalanced quotes: plain words are still better than nothing
        return text.split()


def _expand(tokens: list[str]) -> list[str]:
    """A quoted argument holding the launch (parallel '... python3 script ...') is split again."""
    out = []
    for t in tokens:
        if SCRIPT in t and re.search(r"\s", t.strip()):
            out.extend(_expand(_split(t)))
        else:
            out.append(t)
    return out


def parse_override(text: str) -> Override:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        (o,) = OverridesParser.create().parse_overrides([text])
    except Exception as e:  # noqa: BLE001 - Hydra's grammar errors, reported as one line
        key = text.split("=", 1)[0].lstrip("+~")
        return Override(text, key, text.split("=", 1)[-1], error=str(e).splitlines()[0])
    kind = "delete" if o.is_delete() else "force-add" if o.is_force_add() else "add" if o.is_add() else "set"
    return Override(text, o.key_or_group, None if kind == "delete" else o.value(), kind)


def read(command: str) -> Launch:
    launch = Launch()
    joined = re.sub(r"\\[ \t]*\n", " ", command)  # backslash-newline continues a line
    for raw in joined.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if SCRIPT not in line or launch.found:
            launch.other_lines.append(line)
            if re.match(r"(wget|curl)\b", line):
                launch.downloads += [u.rstrip("/").rsplit("/", 1)[-1] for u in re.findall(r"https?://\S+", line)]
            continue
        tokens = _expand(_split(line))
        at = next(i for i, t in enumerate(tokens) if SCRIPT in t)
        launch.found, launch.prefix, launch.script = True, tokens[:at], tokens[at]
        args = tokens[at + 1 :]
        i = 0
        while i < len(args):
            t = args[i]
            if t in (";", "&&", "||", "|", "&"):
                launch.other_lines.append(" ".join(args[i:]))
                break
            if t.startswith(CONFIG_FLAGS):
                if "=" not in t and i + 1 < len(args):
                    t, i = f"{t}={args[i + 1]}", i + 1
                launch.config_flags.append(t)
            elif t.startswith("-") and not t.startswith("~"):
                launch.flags.append(t)
            else:
                launch.overrides.append(parse_override(t))
            i += 1
    return launch


def line_of(raw_lines: list[str], needle: str, default: int) -> int:
    """1-based line of the first line containing `needle` (a continued line: its first 40 characters)."""
    for probe in (needle, needle[:40]):
        for i, line in enumerate(raw_lines, 1):
            if probe and probe in line and not line.lstrip().startswith("#"):
                return i
    return default
