"""Where each step runs when the jobs use Dagster's Celery executor (docs/deploy.md).

A step goes to the Celery queue its op tag names; the workers of a deployment consume the queues
of the work their machine is for:

    fetch           the crawl's HTTP pass (every portal, rendering off)            any machine
    browser         the crawl's rendering pass (app-shell portals) and the audit  machines with cores
    probe.<vantage> the probes measured from that vantage (PORTAL_INDEX_PROBE_VANTAGES)  a machine there
    warehouse       everything else: loading snapshots, dbt, the checks, the release    the warehouse's machine

`warehouse` is Celery's default queue here, so a step without a queue tag runs where the DuckDB
warehouse is, one at a time (its worker runs with concurrency 1: DuckDB has one writer).

Without `PORTAL_INDEX_EXECUTOR=celery` the tags are inert: `make run`, `make dev` and the tests run
every step in one process.
"""

from __future__ import annotations

from portal_index.config import celery_broker, celery_visibility_seconds

QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG
FETCH, BROWSER, WAREHOUSE = "fetch", "browser", "warehouse"


def probe_queue(vantage: str) -> str:
    return f"probe.{vantage}"


def on_queue(queue: str) -> dict[str, str]:
    """Op tags sending a step to `queue`."""
    return {QUEUE_TAG: queue}


def celery_config() -> dict:
    """The executor's configuration, the same for the run that submits steps and the workers that
    take them (`orchestration.celery_app`).

    Steps are acknowledged when they end (`task_acks_late`), so a step whose worker dies with its
    machine stays with the broker and is given to another worker of its queue after the visibility
    timeout; a worker whose step process is killed hands it back at once (`task_reject_on_worker_lost`).
    One step per worker process at a time (`worker_prefetch_multiplier` 1): a worker does not hold
    a step it cannot start."""
    broker = celery_broker()
    return {
        "broker": broker,
        "backend": broker,
        "config_source": {
            "task_default_queue": WAREHOUSE,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            # unacknowledged steps older than the timeout are looked for every 10 s (kombu's default
            # looks every tenth time, 100 s)
            "broker_transport_options": {
                "visibility_timeout": celery_visibility_seconds(),
                "unacked_restore_interval": 10,
                "unacked_restore_throttle": 1,
            },
            "result_backend_transport_options": {"visibility_timeout": celery_visibility_seconds()},
            "broker_connection_retry_on_startup": True,
        },
    }


def celery_executor():
    from dagster_celery import celery_executor as executor

    return executor.configured(celery_config(), name="celery_executor")
