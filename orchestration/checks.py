"""Great Expectations suites on the published marts, as blocking Dagster asset checks."""


import dagster as dg

from expectations.gate import validate
from orchestration.assets.dbt import MART_KEYS, PUBLISHED_TABLES
from orchestration.resources import PortalIndexResource


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name="great_expectations", asset=key, blocking=True,
                             description="Great Expectations suite for this published table; a failure blocks the release.")
           for key in MART_KEYS],
    can_subset=True,
)
def great_expectations_checks(context: dg.AssetCheckExecutionContext, portal_index: PortalIndexResource):
    selected = {key.asset_key.path[-1] for key in context.selected_asset_check_keys}
    home = portal_index.paths()
    outcomes = validate(home.warehouse, tuple(t for t in PUBLISHED_TABLES if t in selected),
                        docs_dir=home.work / "docs" / "great_expectations")
    for table, outcome in outcomes.items():
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["marts", table]),
            check_name="great_expectations",
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "expectations_evaluated": outcome.evaluated,
                "expectations_failed": len(outcome.failures),
                "fingerprint": outcome.fingerprint,
                "failures": dg.MetadataValue.json(outcome.failures[:20]),
            },
        )
