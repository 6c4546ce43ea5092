"""Checks: Great Expectations on the published marts."""
