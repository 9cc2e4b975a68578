"""`runrepo rules [ID]`: every rule with its id and doc, or one rule with a failing and a fixed example."""

from __future__ import annotations

import sys

from ..errors import EXIT_USAGE


def add_parser(sub):
    p = sub.add_parser("rules", help="list the validation rules, or explain one")
    p.add_argument("id", nargs="?", help="a rule id")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    return p


def markdown_table(rules) -> str:
    """The README's rule table, generated from the registry (a test keeps the README in step)."""
    lines = ["| rule | severity | NeMo releases | what it checks |", "|---|---|---|---|"]
    for r in sorted(rules.values(), key=lambda r: (r.family, r.id)):
        lines.append(f"| `{r.id}` | {r.severity} | {r.releases} | {r.doc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from ..rules import all_rules

    rules = all_rules()
    if args.id is None and args.format == "markdown":
        print(markdown_table(rules), end="")
        return 0
    if args.id is None:
        width = max(len(r) for r in rules)
        for r in sorted(rules.values(), key=lambda r: (r.family, r.id)):
            print(f"{r.id:<{width}}  {r.severity:<7}  {r.family:<8}  {r.doc}")
        return 0
    r = rules.get(args.id)
    if r is None:
        from ..validate.schema import suggest

        hint = suggest(args.id, rules)
        print(f"unknown rule {args.id!r}" + (f"; did you mean {hint!r}?" if hint else ""), file=sys.stderr)
        return EXIT_USAGE
    print(f"{r.id} ({r.severity}, {r.family}; NeMo releases: {r.releases})\n\n{r.doc}\n")
    if r.example:
        print("Fails:\n" + "\n".join("    " + line for line in r.example.splitlines()) + "\n")
    if r.fix:
        print("Fixed:\n" + "\n".join("    " + line for line in r.fix.splitlines()))
    return 0
