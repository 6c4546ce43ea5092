"""The scoring rules as the warehouse holds them (the methodology seeds, loaded by dbt): grade
bands, pillar weights, the coverage threshold and the methodology version. The validation suites
and the report read them from here, never from copies (docs/methodology.md)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Pillar:
    pillar: str
    name_vi: str
    name_en: str
    weight: float


@dataclass(frozen=True)
class Methodology:
    version: str
    bands: list[tuple[str, float]]  # (grade, lowest total), best first
    pillars: list[Pillar]  # heaviest first
    coverage_min: float

    @property
    def pillar_weights(self) -> dict[str, float]:
        return {p.pillar: p.weight for p in self.pillars}

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> Methodology:
        params = dict(con.execute("select parameter, value from seeds.scoring_parameters").fetchall())
        bands = con.execute("select grade, min_total from seeds.grade_bands order by min_total desc").fetchall()
        pillars = con.execute(
            "select pillar, name_vi, name_en, weight from seeds.pillars order by weight desc, pillar"
        ).fetchall()
        return cls(
            str(params["methodology_version"]),
            [(g, float(m)) for g, m in bands],
            [Pillar(p, vi, en, float(w)) for p, vi, en, w in pillars],
            float(params["coverage_min"]),
        )
