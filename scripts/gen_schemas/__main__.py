"""python -m scripts.gen_schemas [nemo options]: write every schema under schemas/."""

from __future__ import annotations

import sys

from . import mcli, nemo


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = [a for i, a in enumerate(args) if a == "--out" or (i and args[i - 1] == "--out")]
    return mcli.main(out) or nemo.main(args)


if __name__ == "__main__":
    sys.exit(main())
