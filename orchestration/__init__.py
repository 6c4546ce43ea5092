"""Dagster code location of the portal quality index."""

import warnings

import dagster as _dg

# the per-portal crawl's single-run backfill policy is a documented, deliberate choice
warnings.filterwarnings("ignore", category=_dg.BetaWarning, message=".*backfill_policy.*")
