"""`runrepo changes --base REV [--head REV]`: the runs a git range adds, edits, renames, deletes or affects."""

from __future__ import annotations

import json
import sys

from . import common


def add_parser(sub):
    p = sub.add_parser("changes", help="classify the runs touched by a git range")
    p.add_argument("--base", required=True, help="base revision (all zeros: everything at head is new)")
    p.add_argument("--head", default="HEAD", help="head revision (default HEAD)")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: one line per run (default); json: everything, for scripts")
    common.add_repo_arg(p)
    return p


def run(args) -> int:
    from ..changes.detect import changes

    ch = changes(args.repo, args.base, args.head)
    if args.format == "json":
        json.dump(ch.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"base {ch.base[:12]}  head {ch.head[:12]}")
    for r in ch.runs:
        extra = f" (from {r.old_path})" if r.old_path else ""
        if r.kind == "affected":
            extra = f" (uses {', '.join(r.layers)}; {'resubmit requested' if r.resubmit else 'not resubmitted'})"
        print(f"{r.kind:<9} {r.path}{extra}")
    for s in ch.shared:
        print(f"shared    {s['path']} ({s['status']})")
    for o in ch.other:
        print(f"other     {o}")
    return 0
