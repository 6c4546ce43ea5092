"""Great Expectations suites on the published marts, as blocking Dagster asset checks."""

import dagster as dg

from expectations.gate import validate
from orchestration.defs.resources import PortalIndexResource


def great_expectations_checks(marts: list[dg.AssetKey]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(
                name="great_expectations",
                asset=key,
                blocking=True,
                description="Great Expectations suite for this published table; a failure blocks the release.",
            )
            for key in marts
        ],
        can_subset=True,
    )
    def great_expectations(context: dg.AssetCheckExecutionContext, portal_index: PortalIndexResource):
        selected = {key.asset_key.path[-1] for key in context.selected_asset_check_keys}
        home = portal_index.paths()
        tables = tuple(key.path[-1] for key in marts if key.path[-1] in selected)
        outcomes = validate(home.warehouse, tables, docs_dir=home.build_docs / "great_expectations")
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
                    "validated_at": str(outcome.validated_at),
                    "reused": outcome.reused,  # an earlier passing validation of the same inputs
                    "failures": dg.MetadataValue.json(outcome.failures[:20]),
                },
            )

    return great_expectations
