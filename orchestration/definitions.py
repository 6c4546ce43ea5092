"""The code location, loaded lazily by Dagster (`dagster dev -m orchestration.definitions`): nothing
is computed when this module is imported."""

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from orchestration.defs import build_defs

    return build_defs()
