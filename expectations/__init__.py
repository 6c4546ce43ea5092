"""Great Expectations suites for the published tables, and the gate that publishing obeys."""
