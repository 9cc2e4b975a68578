"""Generators for schemas/: the mcli run schemas and the NeMo GPT config schema of each release.

Run from the repository root:
    python -m scripts.gen_schemas            # every schema (NeMo needs the pinned wheels cached)
    python -m scripts.gen_schemas.nemo       # schemas/nemo/v*.json only
    python -m scripts.gen_schemas.mcli       # schemas/mcli-run.json and schemas/run-file.json
See scripts/gen_schemas/wheels.py for the wheel cache and `--download`.
"""
