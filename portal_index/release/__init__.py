"""Releasing: the catalog of published tables, the publisher (behind the validation gate), the
release files (CSV, Parquet, workbook, data dictionary), changelog, report, verify and reproduce."""
