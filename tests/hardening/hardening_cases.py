"""The bad-input corpus: every case, from the modules that define them by category.

A case is files written into a copy of runs/ and the one finding `runrepo check` must print
(rule id, file, line). See cases_base.py for the Case type.
"""

from __future__ import annotations

import cases_compose  # noqa: F401 - each module appends its cases to CASES
import cases_numbers  # noqa: F401
import cases_policy  # noqa: F401
import cases_secrets  # noqa: F401
import cases_yaml  # noqa: F401
from cases_base import CASES, RUN, Big, Case, Link
from cases_policy import FAKE, RANDOM, WANDB_HEX

__all__ = ["CASES", "RUN", "Big", "Case", "Link", "FAKE", "RANDOM", "WANDB_HEX"]
