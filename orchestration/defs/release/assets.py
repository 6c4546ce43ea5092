"""Publishing: a versioned, validated Frictionless data package."""

import dagster as dg

from orchestration.defs.resources import PortalIndexResource
from portal_index.release.publish import publish


def release_asset(marts: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(name="release", group_name="publishing", kinds={"frictionless", "parquet", "csv"}, deps=marts)
    def release(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
        """The open data release under releases/<version>/, written only from validated marts."""
        home = portal_index.paths()
        result = publish(home.warehouse, home.releases, log=context.log.info, build_docs=home.build_docs)
        return dg.MaterializeResult(
            metadata={
                "version": result.version or f"unchanged since {result.unchanged_since}",
                "path": dg.MetadataValue.path(str(result.path)),
                "new_release": result.version is not None,
            }
        )

    return release
