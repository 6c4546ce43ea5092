"""The Celery application of the workers (docs/deploy.md):

    PORTAL_INDEX_CELERY_BROKER=redis://127.0.0.1:6379/0 PORTAL_INDEX_VANTAGE=vn-hanoi \\
        celery -A orchestration.celery_app worker -Q fetch,browser,probe.vn-hanoi -c 1 -n fetch1@%h

Same broker, backend and settings as the executor that submits the steps
(`orchestration.defs.cluster.celery_config`), and Dagster's step task, which loads the job from its
code location and runs the step in the worker.
"""

import logging

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from orchestration.defs.cluster import celery_config

_config = celery_config()
app = make_app(
    CeleryExecutor.for_cli(
        broker=_config["broker"], backend=_config["backend"], config_source=_config["config_source"]
    ).app_args()
)
execute_plan = create_task(app)
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise (the steps log their own)
