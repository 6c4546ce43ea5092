"""The Dagster code location of portal-index: definitions.py loads `orchestration.defs`."""
