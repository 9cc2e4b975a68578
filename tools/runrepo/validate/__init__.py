"""Validation: schema and rules over expanded runs, producing findings with provenance."""
