"""The scoring rules as the warehouse holds them (the methodology seeds, loaded by dbt): grade
bands, pillar weights and the coverage threshold of each methodology version (docs/methodology.md,
"Methodology versions"); the version adopted last is the current one. The validation suites
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
    interval_level: float | None = None  # the share of resampled totals inside the published interval

    @property
    def pillar_weights(self) -> dict[str, float]:
        return {p.pillar: p.weight for p in self.pillars}

    @staticmethod
    def versions(con: duckdb.DuckDBPyConnection) -> list[str]:
        """Every methodology version, the earliest adopted first; the last is the current one."""
        return [
            r[0]
            for r in con.execute(
                "select methodology_version from seeds.methodology_versions order by adopted_on, methodology_version"
            ).fetchall()
        ]

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, version: str | None = None) -> Methodology:
        """The rules of `version`, by default the current one (the version adopted last)."""
        version = version or cls.versions(con)[-1]
        params = dict(
            con.execute(
                "select parameter, value from seeds.scoring_parameters where methodology_version = ?", [version]
            ).fetchall()
        )
        bands = con.execute(
            "select grade, min_total from seeds.grade_bands where methodology_version = ? order by min_total desc",
            [version],
        ).fetchall()
        pillars = con.execute(
            "select pillar, name_vi, name_en, weight from seeds.pillars where methodology_version = ? "
            "order by weight desc, pillar",
            [version],
        ).fetchall()
        if not bands or not pillars or "coverage_min" not in params:
            raise ValueError(f"methodology version {version!r} has no complete rules in the seeds")
        return cls(
            version,
            [(g, float(m)) for g, m in bands],
            [Pillar(p, vi, en, float(w)) for p, vi, en, w in pillars],
            float(params["coverage_min"]),
            float(params["interval_level"]) if "interval_level" in params else None,
        )

    @classmethod
    def load_all(cls, con: duckdb.DuckDBPyConnection) -> list[Methodology]:
        """The rules of every version, the current one last."""
        return [cls.load(con, v) for v in cls.versions(con)]
