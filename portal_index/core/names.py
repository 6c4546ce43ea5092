"""The one place where province names in any spelling become national statistics codes.

Matching is on a folded key: NFC/NFD, tone-mark placement ("Hoà"/"Hòa"), case, diacritics,
punctuation, dashes, spaces, and the prefixes "Tỉnh", "Thành phố", "TP." are all ignored.
The names come from the registry seeds; extra spellings from `province_aliases.csv`.
"""

from __future__ import annotations

import csv
import difflib
import re
from functools import cache, lru_cache

from portal_index.config import SEEDS_DIR
from portal_index.core.periods import era_on, ministry_restructuring_date
from portal_index.core.text import fold

ERAS = ("63", "34")
_PREFIXES = re.compile(r"^(tinh|thanh pho|tp\.?|t\.p\.?|city of)\s+")
_SUFFIXES = re.compile(r"\s+(city|province)$")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


class UnknownProvince(ValueError):
    def __init__(self, name: str, era: str, suggestions: list[str]):
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown province name {name!r} (in the {era}-province list){hint}")
        self.name, self.era, self.suggestions = name, era, suggestions


def key(name: str) -> str:
    folded = fold(name)
    folded = _SUFFIXES.sub("", _PREFIXES.sub("", folded))
    return _NON_ALNUM.sub("", folded)


def _read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def _index(era: str) -> tuple[dict[str, str], dict[str, str]]:
    """(key -> code, code -> Vietnamese name) for one era."""
    if era not in ERAS:
        raise ValueError(f"era must be one of {ERAS}, got {era!r}")
    provinces = _read(SEEDS_DIR / "registry" / f"provinces_{era}.csv")
    keys: dict[str, str] = {}
    for row in provinces:
        for spelling in (row["name_vi"], row["name_en"], row["slug"]):
            keys[key(spelling)] = row["province_code"]
    for row in _read(SEEDS_DIR / "registry" / "province_aliases.csv"):
        if row["era"] == era:
            keys[key(row["alias"])] = row["province_code"]
    names = {row["province_code"]: row["name_vi"] for row in provinces}
    return keys, names


def resolve_province(name_or_code: str, era: str = "63") -> str:
    """Return the two-digit code of a province named in any common spelling, or raise."""
    text = str(name_or_code).strip()
    keys, names = _index(era)
    if text.isdigit():
        code = text.zfill(2)
        if code in names:
            return code
        raise UnknownProvince(text, era, [])
    k = key(text)
    if k in keys:
        return keys[k]
    close = difflib.get_close_matches(k, list(keys), n=3, cutoff=0.75)
    suggestions = sorted({names[keys[c]] for c in close})
    raise UnknownProvince(text, era, suggestions)


def province_codes(era: str = "63") -> list[str]:
    return sorted(_index(era)[1])


_MINISTRY_PREFIXES = re.compile(r"^(bo|ministry of|uy ban|committee for)\s+")


def resolve_province_on(name_or_code: str, day) -> tuple[str, str]:
    """(era, code) of the province that `name_or_code` meant on `day`.

    From 1 July 2025 an old (63-list) name is mapped through the crosswalk to the province it
    merged into, so a sheet that still says "Yên Bái" lands on the new Lào Cai.
    """
    if era_on(day) == "63":
        return "63", resolve_province(name_or_code, era="63")
    try:
        return "34", resolve_province(name_or_code, era="34")
    except UnknownProvince as new_error:
        try:
            old = resolve_province(name_or_code, era="63")
        except UnknownProvince:
            raise new_error from None
        return "34", _crosswalk()[old]


@lru_cache(maxsize=1)
def _crosswalk() -> dict[str, str]:
    return {
        r["old_province_code"]: r["new_province_code"] for r in _read(SEEDS_DIR / "registry" / "province_crosswalk.csv")
    }


class UnknownMinistry(ValueError):
    pass


def ministry_key(name: str) -> str:
    return _NON_ALNUM.sub("", _MINISTRY_PREFIXES.sub("", fold(name)))


@lru_cache(maxsize=1)
def _ministries() -> tuple[dict[str, str], dict[str, str]]:
    keys: dict[str, str] = {}
    for row in _read(SEEDS_DIR / "registry" / "ministries_registry.csv"):
        for spelling in (row["ministry_code"], row["name_vi"], row["name_en"]):
            keys[ministry_key(spelling)] = row["ministry_code"]
    successors = {
        r["old_ministry_code"]: r["new_ministry_code"] for r in _read(SEEDS_DIR / "registry" / "ministry_crosswalk.csv")
    }
    return keys, successors


def resolve_ministry_on(name_or_code: str, day) -> str:
    """The code of the ministry named on `day`; a ministry that ended maps to its successor."""
    keys, successors = _ministries()
    code = keys.get(ministry_key(str(name_or_code)))
    if code is None:
        close = difflib.get_close_matches(ministry_key(str(name_or_code)), list(keys), n=1, cutoff=0.8)
        hint = f"; did you mean {keys[close[0]]}?" if close else ""
        raise UnknownMinistry(f"unknown ministry {name_or_code!r}{hint}")
    if day >= ministry_restructuring_date() and code in successors:
        return successors[code]
    return code
