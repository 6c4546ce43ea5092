"""Scoring: the dbt project as Dagster assets."""
