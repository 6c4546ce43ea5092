"""Dagster code location of the portal quality index."""
