"""Partitions of the fetchers: crawls by portal, probes by hour (Vietnam time)."""

import dagster as dg

from portal_index.core.periods import period_of, time_zone
from portal_index.core.periods import today as vietnam_today
from portal_index.core.registry import active_portals


def portal_partitions() -> dg.StaticPartitionsDefinition:
    """One partition per portal active today (computed when the definitions are built)."""
    return dg.StaticPartitionsDefinition(sorted(p["portal_id"] for p in active_portals(period_of(vietnam_today()))))


def hour_partitions() -> dg.HourlyPartitionsDefinition:
    return dg.HourlyPartitionsDefinition(start_date="2025-01-01-00:00", timezone=time_zone(), end_offset=1)


class NoPortals(LookupError):
    pass


def all_portals_tags(partitions: dg.PartitionsDefinition | None = None) -> dict[str, str]:
    """Run tags for one run over every portal partition (the crawl asset's backfill policy is a single run).
    Raises `NoPortals` when the registry has no active portal: there is nothing to crawl."""
    keys = (partitions or portal_partitions()).get_partition_keys()
    if not keys:
        raise NoPortals("the portal registry has no active portal today: nothing to crawl")
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def current_hour_tags() -> dict[str, str]:
    """Run tags for the probe partition of the hour we are in."""
    return {"dagster/partition": hour_partitions().get_last_partition_key()}
