"""Writing run files: `runrepo new` from layer choices, `runrepo import` from a hand-written mcli YAML."""
