#!/usr/bin/env bash
# Regenerate the hash-pinned lock files that .github/workflows install from, with uv
# (`pip install uv==0.13.8`). They are for the CI runners: Linux x86_64, Python 3.11.
#   requirements/lock.sh               keep existing pins where pyproject.toml still allows them
#   requirements/lock.sh --upgrade     newest versions pyproject.toml allows
# runtime.lock (plan, submit) is constrained by test.lock (pre-commit, tests): one version per package.
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--quiet --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
  --custom-compile-command requirements/lock.sh "$@")
uv pip compile "${common[@]}" --extra test pyproject.toml requirements/build.in -o requirements/test.lock
uv pip compile "${common[@]}" -c requirements/test.lock pyproject.toml requirements/build.in -o requirements/runtime.lock
