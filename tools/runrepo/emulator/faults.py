"""Scriptable faults: latency, HTTP error pages and dropped connections.

A plan is a global latency plus ordered rules. Each rule applies to one operation
(`createRun`, ...) or to all, in the phase `before` (nothing stored yet) or `after`
(the operation ran and its effect is stored, only the answer is lost). A rule fires
`count` times (or forever) with `probability`, drawn from one seeded RNG so a
randomized schedule replays identically for the same request order.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from typing import Any

KINDS = ("http", "drop", "latency")
PHASES = ("before", "after")
BODIES = ("html", "json", "empty")
_ALIASES = {"op": "operation", "p": "probability", "n": "count"}


class FaultConfigError(ValueError):
    """A fault rule or plan that cannot be understood."""


@dataclass
class FaultRule:
    kind: str = "http"
    status: int = 502
    phase: str = "before"
    operation: str | None = None
    count: int | None = None  # firings left; None means unlimited
    probability: float = 1.0
    ms: int = 0  # delay for kind=latency
    body: str = "html"  # what an http fault answers: a gateway page, a JSON error, or nothing
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultConfigError(f"fault kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.phase not in PHASES:
            raise FaultConfigError(f"fault phase must be before or after, got {self.phase!r}")
        if self.body not in BODIES:
            raise FaultConfigError(f"fault body must be one of {', '.join(BODIES)}, got {self.body!r}")
        if self.kind == "http" and not (isinstance(self.status, int) and 400 <= self.status <= 599):
            raise FaultConfigError(f"http fault status must be 400-599, got {self.status!r}")
        if self.count is not None and (not isinstance(self.count, int) or self.count < 0):
            raise FaultConfigError(f"fault count must be a non-negative integer, got {self.count!r}")
        if not isinstance(self.probability, (int, float)) or not 0.0 <= self.probability <= 1.0:
            raise FaultConfigError(f"fault probability must be within 0..1, got {self.probability!r}")
        if not isinstance(self.ms, int) or self.ms < 0:
            raise FaultConfigError(f"fault ms must be a non-negative integer, got {self.ms!r}")

    @classmethod
    def from_dict(cls, data: Any) -> FaultRule:
        if not isinstance(data, dict):
            raise FaultConfigError(f"a fault rule must be an object, got {data!r}")
        data = {_ALIASES.get(k, k): v for k, v in data.items()}
        known = set(cls.__dataclass_fields__) - {"fired"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault rule key(s): {', '.join(unknown)}")
        if "status" in data and "kind" not in data:
            data["kind"] = "http"
        try:
            return cls(**data)
        except TypeError as e:
            raise FaultConfigError(f"bad fault rule {data!r}: {e}") from None

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """Parse the CLI form, e.g. `502,after,op=createRun,count=1` or `drop,p=0.2`."""
        data: dict[str, Any] = {}
        for token in (t.strip() for t in spec.split(",")):
            if not token:
                continue
            key, eq, value = token.partition("=")
            if not eq:
                if token.isdigit():
                    data.update(kind="http", status=int(token))
                elif token in KINDS:
                    data["kind"] = token
                elif token in PHASES:
                    data["phase"] = token
                else:
                    raise FaultConfigError(f"cannot read fault token {token!r} in {spec!r}")
                continue
            key = _ALIASES.get(key.strip(), key.strip())
            data[key] = _convert(key, value.strip(), spec)
        return cls.from_dict(data)

    def matches(self, operation: str, phase: str) -> bool:
        exhausted = self.count is not None and self.fired >= self.count
        return not exhausted and self.phase == phase and self.operation in (None, operation)


def _convert(key: str, value: str, spec: str) -> Any:
    try:
        if key in ("status", "count", "ms"):
            return int(value)
        if key == "probability":
            return float(value)
    except ValueError:
        raise FaultConfigError(f"fault {key} needs a number, got {value!r} in {spec!r}") from None
    return value


@dataclass
class Action:
    """What the server must do for one request in one phase."""

    delay_ms: int = 0
    kind: str | None = None  # "http", "drop" or None (answer normally)
    status: int = 0
    body: str = "html"
    rule: int = -1


@dataclass
class FaultPlan:
    latency_ms: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.latency_ms, int) or self.latency_ms < 0:
            raise FaultConfigError(f"latency_ms must be a non-negative integer, got {self.latency_ms!r}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, data: Any) -> FaultPlan:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise FaultConfigError("a fault plan must be an object with latency_ms, seed and rules")
        unknown = sorted(set(data) - {"latency_ms", "rules", "seed"})
        if unknown:
            raise FaultConfigError(f"unknown fault plan key(s): {', '.join(unknown)}")
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            raise FaultConfigError("fault plan rules must be a list")
        seed = data.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise FaultConfigError(f"seed must be an integer, got {seed!r}")
        parsed = [r if isinstance(r, FaultRule) else FaultRule.parse(r) if isinstance(r, str)
                  else FaultRule.from_dict(r) for r in rules]
        return cls(latency_ms=data.get("latency_ms", 0) or 0, rules=parsed, seed=seed)

    @classmethod
    def from_file(cls, path: str) -> FaultPlan:
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_dict(json.load(f))
        except OSError as e:
            raise FaultConfigError(f"cannot read fault file {path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise FaultConfigError(f"fault file {path} is not valid JSON: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"latency_ms": self.latency_ms, "seed": self.seed,
                    "rules": [asdict(r) for r in self.rules]}

    def decide(self, operation: str, phase: str) -> Action:
        """Consume the rules that fire now; the first http/drop rule ends the request."""
        action = Action(delay_ms=self.latency_ms if phase == "before" else 0)
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(operation, phase):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.kind == "latency":
                    action.delay_ms += rule.ms
                    continue
                action.kind, action.status, action.body = rule.kind, rule.status, rule.body
                action.rule = index
                break
        return action


def error_page(status: int) -> bytes:
    """The HTML a gateway (nginx) answers with; mcli cannot parse it as JSON."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
