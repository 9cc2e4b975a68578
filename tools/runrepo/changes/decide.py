"""The one decision: what merging a range does with each run it touches. `plan` shows it and
`submit` acts on it, so what a pull request promises is what its merge does.

It depends on git alone (the change and the expanded run's digest at base and head), never on
the platform: whether the run already exists there is submission's business (identity and the
cover rule, submit/engine.py), and check errors keep a run from being sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from .detect import TRAILER, RunChange

SUBMIT = "submit"
SKIP = "skip"
DELETED = "deleted"


@dataclass(frozen=True)
class Decision:
    action: str  # submit | skip | deleted
    label: str  # short form for a table cell
    reason: str  # one sentence saying why

    @property
    def submits(self) -> bool:
        return self.action == SUBMIT


def decide(change: RunChange, digest_base: str | None, digest_head: str | None,
           on_delete: str = "report") -> Decision:
    """The action for one changed run, from the kind of change and the expanded run at both ends
    (and, for a deleted file, the base policy's `on_delete`)."""
    same = digest_head is not None and digest_head == digest_base
    if change.kind == "added":
        return Decision(SUBMIT, "submit (new)", "a new run file")
    if change.kind == "deleted" and on_delete == "stop":
        return Decision(DELETED, "deleted (live runs stopped)",
                        "the run file is removed; runs/policy.yaml on_delete: stop: merging stops this "
                        "repository's live platform runs of it")
    if change.kind == "deleted":
        return Decision(DELETED, "deleted (run not stopped)",
                        "the run file is removed; a platform run it started is not stopped")
    if change.kind == "renamed":
        if same:
            return Decision(SKIP, "renamed, unchanged",
                            f"a pure rename of {change.old_path}: the expanded run is identical, not resubmitted")
        return Decision(SUBMIT, "submit (renamed, changed)",
                        f"renamed from {change.old_path} and the expanded run changed")
    if change.kind == "modified":
        if same:
            return Decision(SKIP, "unchanged",
                            "the file changed but the expanded run is identical (comments, layout): not resubmitted")
        return Decision(SUBMIT, "submit (edited)", "the run file was edited")
    uses = ", ".join(change.layers)  # affected: a shared layer it uses changed
    if change.resubmit and same:  # identity is (path, digest): the run already submitted stands
        return Decision(SKIP, "affected, unchanged",
                        f"uses {uses}; resubmit requested, but the expanded run is identical to the one already "
                        "submitted (bump `runrepo.rerun` in the run file to run it again)")
    if change.resubmit:
        return Decision(SUBMIT, "submit (resubmit requested)", f"uses {uses}; a {TRAILER} trailer asks to resubmit it")
    if same:
        return Decision(SKIP, "affected, unchanged", f"uses {uses}, but its expanded run is identical")
    return Decision(SKIP, "affected (not resubmitted)",
                    f"uses {uses}, which changed; not resubmitted (a `{TRAILER}: {change.path}` commit trailer "
                    "asks for it)")
