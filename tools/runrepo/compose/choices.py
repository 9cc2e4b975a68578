"""What to say when a defaults entry names a layer that is not there: the closest option and the valid ones.

`/cluster: r7z3` -> did you mean `r7z2`; `/clusters: r7z2` -> the group is `cluster`; `/model: gpt3_125m`
-> `gpt3_126m`, each with the full list read from runs/ (the same list `runrepo new` offers).
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Iterable

NOT_LAYERS = ("policy", "datasets")  # files under runs/ that no run composes
NOT_CHOSEN = ("experiments", "data")  # groups a run file never includes (run folders)


def closest(word: str, options: Iterable[str]) -> str | None:
    hit = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return hit[0] if hit else None


def hint(name: str, names: list[str]) -> str:
    """`; did you mean ...? <group> options: ...` for a missing config `name`, from the layer names there are."""
    group, option = posixpath.split(name)
    groups: dict[str, list[str]] = {}
    for n in names:
        g, o = posixpath.split(n)
        if g in NOT_CHOSEN or (not g and o in NOT_LAYERS):
            continue
        groups.setdefault(g, []).append(o)
    if group in groups:
        options = sorted(groups[group])
        close = closest(option, options)
        label = f"/{group} options" if group else "top-level configs"
        return f"; {f'did you mean `{close}`? ' if close else ''}{label}: {', '.join(options)}"
    named = sorted(g for g in groups if g)
    if not named:  # a repository with run files and no layers: one using the exported hook, usually
        return ("; runs/ has no layer groups at all: runs need this tool's layers (runs/base.yaml, nemo/, node/, "
                "cluster/, model/) next to them, see the README: Using the hook in another repository")
    close_group = closest(group, named) if group else None
    if close_group is None:
        return f"; runs/{group}/ does not exist (groups: {', '.join(named)})"
    options = sorted(groups[close_group])
    exact = option if option in options else closest(option, options)
    suggestion = f"/{close_group}: {exact}" if exact else f"/{close_group}"
    return f"; there is no group `{group}`: did you mean `{suggestion}`? /{close_group} options: {', '.join(options)}"
