"""`portal-index-dbt`: dbt, run in the working folder (`$PORTAL_INDEX_HOME`, else var/ in the
repository), on this repository's project and profile. Every dbt command of the pipeline goes
through it (`portal_index.config.DBT_EXECUTABLE`); a person can run it too, from anywhere:
`.venv/bin/portal-index-dbt build -s int_measures__probes`.

Why a launcher: dbt reuses a parse of the project (`partial_parse.msgpack`, about 4 s of CPU saved
a build) only when the profile's connection settings are the ones it was made with. The profile
used to name the warehouse by the working folder's absolute path, so a new working folder, or a
copied one, parsed the whole project again, and no parse served two folders. The pipeline's target
(`pipeline` in dbt_project/profiles.yml, this launcher's default) names it `warehouse.duckdb`,
relative: the same text for every folder, opened in the folder dbt runs in, which is the launcher's
to choose (dagster-dbt starts dbt in the project's folder). Relative paths in dbt's variables are
made absolute first (`config.enter_for_dbt`); on the command line, give absolute ones."""

from __future__ import annotations

import sys

from portal_index.config import Home, enter_for_dbt


def main() -> None:
    enter_for_dbt(Home.from_env())
    from dbt.cli.main import cli

    sys.argv[0] = "dbt"
    sys.exit(cli())


if __name__ == "__main__":
    main()
