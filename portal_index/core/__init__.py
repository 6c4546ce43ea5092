"""Shared vocabulary of every stage: text folding, province and ministry names, the registry, the
assessment calendar, raw-table contracts, provenance marks and input problems. Imports nothing else
of the project but `portal_index.config`."""
