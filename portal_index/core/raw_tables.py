"""The raw tables' contracts: the columns and DuckDB types every parser produces and the warehouse
loads (schema `raw`). One statement, read by the parsers (`portal_index.parse`), the loader
(`portal_index.land.warehouse`) and the benchmark's floor query; the dbt sources describe the same
tables for the models (dbt_project/models/staging).
"""

# The largest magnitude a number the inputs carry may have: no count, share, size, score or time in
# milliseconds we record comes near it. A larger one (or nan, inf) rejects its file: it is not a
# measurement, and the scoring models add values exactly, as DECIMAL(38, 12), which holds numbers
# below 1e26 and their squares below that only up to 1e13 (dbt_project/macros/exact_aggregates.sql).
MAX_MAGNITUDE = 1e9
MAX_PROBE_MS = 3_600_000  # an hour: a probe's phase or total time beyond it is not a measurement

RAW_TABLES: dict[str, dict[str, str]] = {
    "crawl_pages": {
        "crawl_id": "VARCHAR",
        "portal_id": "VARCHAR",
        "url": "VARCHAR",
        "final_url": "VARCHAR",
        "fetched_at": "TIMESTAMPTZ",
        "status": "INTEGER",
        "content_type": "VARCHAR",
        "bytes": "BIGINT",
        "elapsed_ms": "DOUBLE",
        "depth": "INTEGER",
        "error": "VARCHAR",
        "role": "VARCHAR",
        "attempts": "INTEGER",
        "redirects": "INTEGER",
        "warc_file": "VARCHAR",
        "read_as": "VARCHAR",  # static | rendered (the DOM a browser built) | null (no page read)
        "tls_fault": "VARCHAR",  # tls_incomplete_chain: read after completing the chain as a browser does
        "detail": "VARCHAR",  # what an error class does not say (a wall's vendor, a render limit)
    },
    "crawl_signals": {
        "crawl_id": "VARCHAR",
        "portal_id": "VARCHAR",
        "crawled_at": "TIMESTAMPTZ",
        "signal_id": "VARCHAR",
        "value": "DOUBLE",
        "evidence_url": "VARCHAR",
        "evidence_text": "VARCHAR",
        "keywords_version": "VARCHAR",
        "read_as": "VARCHAR",  # static | rendered: how the page holding the evidence was read
    },
    "probes": {
        "portal_id": "VARCHAR",
        "url": "VARCHAR",
        "probed_at": "TIMESTAMPTZ",
        "status": "INTEGER",
        "dns_ms": "DOUBLE",
        "connect_ms": "DOUBLE",
        "tls_ms": "DOUBLE",
        "ttfb_ms": "DOUBLE",
        "total_ms": "DOUBLE",
        "bytes": "BIGINT",
        "http_version": "VARCHAR",
        "redirects_to_https": "BOOLEAN",
        "tls_expires_at": "TIMESTAMPTZ",
        "error": "VARCHAR",
        "url_kind": "VARCHAR",
        "retry_of": "TIMESTAMPTZ",
        "tls_fault": "VARCHAR",  # tls_incomplete_chain: content read after completing the chain
        "detail": "VARCHAR",  # what the error class does not say (a wall's vendor and marker)
        "vantage": "VARCHAR",  # where the probe was measured from (seed vantages); null in older files
    },
    "a11y_audits": {
        "portal_id": "VARCHAR",
        "url": "VARCHAR",
        "audited_at": "TIMESTAMPTZ",
        "status": "INTEGER",
        "lcp_ms": "DOUBLE",
        "cls": "DOUBLE",
        "rules_passed": "INTEGER",
        "rules_violated": "INTEGER",
        "axe_version": "VARCHAR",
        "error": "VARCHAR",
    },
    "a11y_violations": {
        "portal_id": "VARCHAR",
        "url": "VARCHAR",
        "audited_at": "TIMESTAMPTZ",
        "rule_id": "VARCHAR",
        "impact": "VARCHAR",
        "nodes": "INTEGER",
    },
    "survey_responses": {
        "file_name": "VARCHAR",
        "sheet": "VARCHAR",
        "row_number": "INTEGER",
        "portal_id": "VARCHAR",
        "owner_name": "VARCHAR",
        "test_type": "VARCHAR",
        "test_date": "DATE",
        "service_name": "VARCHAR",
        "steps": "INTEGER",
        "minutes": "DOUBLE",
        "completed_online": "BOOLEAN",
        "original_papers_demanded": "BOOLEAN",
        "result_online": "BOOLEAN",
        "payment_before_submission": "BOOLEAN",
        "satisfaction": "DOUBLE",
        "screen_reader_completed": "BOOLEAN",
        "ethnic_language_content": "BOOLEAN",
        "evaluator": "VARCHAR",
        "notes": "VARCHAR",
    },
    "papi_scores": {
        "file_name": "VARCHAR",
        "sheet": "VARCHAR",
        "row_number": "INTEGER",
        "source_year": "INTEGER",
        "variant": "VARCHAR",
        "province_name_raw": "VARCHAR",
        "province_code": "VARCHAR",
        "year": "INTEGER",
        "dimension": "INTEGER",
        "score": "DOUBLE",
    },
}
