"""`runrepo rules [ID]`: every rule with its id and doc, or one rule with a failing and a fixed example."""

from __future__ import annotations

import json
import sys

from ..errors import EXIT_USAGE


def add_parser(sub):
    p = sub.add_parser("rules", help="list the validation rules, or explain one")
    p.add_argument("id", nargs="?", help="a rule id (a finding's `error[ID]`)")
    p.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text: for reading (default); markdown: the README's rule table; json: every field, for scripts",
    )
    return p


def markdown_table(rules) -> str:
    """The README's rule table, generated from the registry (a test keeps the README in step)."""
    lines = ["| rule | severity | NeMo releases | what it checks |", "|---|---|---|---|"]
    for r in _ordered(rules):
        lines.append(f"| `{r.id}` | {r.severity} | {r.releases} | {r.doc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def _ordered(rules):
    return sorted(rules.values(), key=lambda r: (r.family, r.id))


def _as_dict(r) -> dict:
    return {
        "id": r.id,
        "severity": r.severity,
        "family": r.family,
        "releases": r.releases,
        "doc": r.doc,
        "example": r.example,
        "fix": r.fix,
    }


def _markdown_one(r) -> str:
    out = [f"### `{r.id}`", "", f"{r.severity}, {r.family}; NeMo releases: {r.releases}", "", r.doc, ""]
    for title, body in (("Fails", r.example), ("Fixed", r.fix)):
        if body:
            out += [f"{title}:", "", "```yaml", body, "```", ""]
    return "\n".join(out)


def _text_one(r) -> str:
    out = f"{r.id} ({r.severity}, {r.family}; NeMo releases: {r.releases})\n\n{r.doc}\n\n"
    if r.example:
        out += "Fails:\n" + "\n".join("    " + line for line in r.example.splitlines()) + "\n\n"
    if r.fix:
        out += "Fixed:\n" + "\n".join("    " + line for line in r.fix.splitlines()) + "\n"
    return out


def run(args) -> int:
    from ..report.colour import paint_rules
    from ..rules import all_rules

    rules = all_rules()
    if args.id is None:
        if args.format == "markdown":
            sys.stdout.write(markdown_table(rules))
        elif args.format == "json":
            sys.stdout.write(json.dumps([_as_dict(r) for r in _ordered(rules)], indent=2) + "\n")
        else:
            width = max(len(r) for r in rules)
            lines = [f"{r.id:<{width}}  {r.severity:<7}  {r.family:<8}  {r.doc}" for r in _ordered(rules)]
            sys.stdout.write(paint_rules("\n".join(lines) + "\n", sys.stdout))
        return 0
    r = rules.get(args.id)
    if r is None:
        from ..validate.schema import suggest

        hint = suggest(args.id, rules)
        print(
            f"unknown rule {args.id!r}" + (f"; did you mean {hint!r}?" if hint else "") + " (`runrepo rules` lists them)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.format == "json":
        sys.stdout.write(json.dumps(_as_dict(r), indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(_markdown_one(r))
    else:
        sys.stdout.write(_text_one(r))
    return 0
