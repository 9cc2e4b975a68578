"""The README's rule table is the registry's: a new rule without docs fails here."""

from __future__ import annotations

import re

from runrepo.commands.rules import markdown_table
from runrepo.rules import all_rules
from runrepo_testing import ROOT


def test_readme_rule_table_matches_the_registry():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- rules-table[^>]*-->\n(.*?)<!-- /rules-table -->", text, re.S)
    assert m, "README.md has no generated rule table"
    assert m.group(1) == markdown_table(all_rules())


def test_every_rule_has_doc_and_examples():
    for r in all_rules().values():
        assert r.doc, r.id
        assert r.stage or (r.example and r.fix), r.id  # ids a stage raises (layer-size, ...) may have no example
