"""What a snapshot's provenance says about it: whether it was made by the demo.

Demo-ness is a property of the data, not of the run: a release is flagged as a demo when any input
it was built from was made by the demo (`portal_index.demo` names its inputs with these marks).
"""

DEMO_ORIGIN_MARK = "(demo)"  # in the origin of snapshots that simulator-backed fetchers land
DEMO_PAPI_FILE = "papi_demo_synthetic.csv"  # the demo's synthetic PAPI file
DEMO_SURVEY_PREFIX = "khao-sat-demo-"  # the demo's survey workbooks: khao-sat-demo-<period>.xlsx


def demo_snapshot_sql() -> str:
    """A condition on meta.snapshot_loads that is true for inputs made by the demo."""
    return (
        f"(origin like '%{DEMO_ORIGIN_MARK}%' or original_name = '{DEMO_PAPI_FILE}' "
        f"or original_name like '{DEMO_SURVEY_PREFIX}%')"
    )
