"""What a git range submits: the evaluated range (changes.evaluate, the decision `plan` shows) turned
into candidates, each with the run as it will be sent and its identity.

Nothing here reads the platform, so `--dry-run` needs no credentials. A run the decision
submits but `check` finds errors in is `invalid`: never sent, while the others still are (the
merge has happened: holding them back would lose them). What the platform already holds
(identity, the cover rule) is decided in engine.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..changes.decide import SUBMIT
from ..changes.detect import RangeChanges
from ..changes.evaluate import evaluate
from ..check import STRAY_RULE
from ..compose.render import with_metadata
from ..findings import ERROR, Finding
from ..git import Git
from .ordering import Need
from .platform import Repository

INVALID = "invalid"
# Commit times come from the committer's clock, run times from the platform's: a margin for skew.
CLOCK_SKEW = timedelta(days=1)


@dataclass
class Candidate:
    path: str  # runs/experiments/x.yaml at head (at base for deleted)
    kind: str  # added | modified | renamed | affected | deleted (changes.detect) | stray
    decision: str  # submit | skip | deleted | invalid
    reason: str = ""
    old_path: str = ""
    run: dict | None = None  # the run as submitted, metadata included
    digest: str = ""
    findings: list[Finding] = field(default_factory=list)
    cause: str = ""  # the commit that makes it a candidate: its last first-parent change, or the trailer
    aliases: list[str] = field(default_factory=list)  # its earlier names (pure renames since the cause)
    needs: list[Need] = field(default_factory=list)  # a training run: the data runs it reads (ordering.py)
    dataset: str = ""  # a data run: what its dataset is built from (runrepo_dataset)

    @property
    def identity(self) -> tuple[str, str]:
        return (self.path, self.digest)

    @property
    def cluster(self) -> str:
        return str(((self.run or {}).get("compute") or {}).get("cluster") or "")

    @property
    def gpus(self) -> int:
        gpus = ((self.run or {}).get("compute") or {}).get("gpus")
        return gpus if isinstance(gpus, int) and not isinstance(gpus, bool) else 0


@dataclass
class Selection:
    base: str  # the base asked for, as a full sha (all zeros: everything at head is new)
    merge_base: str  # what the range actually compared against
    head: str
    candidates: list[Candidate]
    policy: dict = field(default_factory=dict)  # runs/policy.yaml that judged the range
    range: str = ""  # the commits of the range, as git log takes them

    @property
    def to_submit(self) -> list[Candidate]:
        return [c for c in self.candidates if c.decision == SUBMIT]


def select(repo: Path | str, base: str, head: str = "HEAD", repository: Repository | None = None,
           rc: RangeChanges | None = None) -> Selection:
    """The candidates of base..head, composed at head and checked under the base's policy."""
    ev = evaluate(repo, base, head, rc)
    rc = ev.changes
    meta = {"commit": rc.head, "base": rc.base_rev}
    if repository is not None:
        meta.update(repository.metadata())
    cands = []
    for e in ev.runs:
        c = Candidate(e.path, e.change.kind, e.decision.action, e.decision.reason, e.change.old_path,
                      cause=e.change.cause, aliases=list(e.change.aliases), findings=list(e.findings),
                      needs=[Need(u.name, u.file, u.dataset) for u in e.needs],
                      dataset=e.head.dataset if e.head is not None else "")
        if c.decision == SUBMIT:
            errors = [f for f in e.findings if f.severity == ERROR]
            if errors or e.head is None:
                c.decision, c.reason = INVALID, f"not submitted: {errors[0] if errors else 'it does not compose'}"
            else:
                c.run, c.digest = with_metadata(e.head, **meta), e.digest_head or ""
        cands.append(c)
    for f in ev.shared_findings:
        if f.rule == STRAY_RULE:  # never checked, never submitted: the merge did not do what it meant
            cands.append(Candidate(f.file, "stray", INVALID, f"not submitted: {f}"))
    return Selection(rc.base_rev, rc.base, rc.head, cands, ev.policy, rc.range)


def lookup_start(git: Git, head: str, paths: list[str], lookback: timedelta | None = None) -> datetime | None:
    """How far back the platform must be read to find every copy of these runs: no copy can predate
    the oldest commit in head's history that has its run file (less the clock margin). None:
    nothing to look up. `lookback` can only widen the look-up, never narrow it."""
    if not paths:
        return None
    added = git.first_added(head, paths)
    oldest = min(added.get(p, git.commit_time(head)) for p in paths)
    since = datetime.fromtimestamp(oldest, timezone.utc) - CLOCK_SKEW
    if lookback is not None:
        since = min(since, datetime.now(timezone.utc) - lookback)
    return since
