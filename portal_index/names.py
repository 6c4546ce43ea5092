"""The one place where province names in any spelling become national statistics codes.

Matching is on a folded key: NFC/NFD, tone-mark placement ("Hoà"/"Hòa"), case, diacritics,
punctuation, dashes, spaces, and the prefixes "Tỉnh", "Thành phố", "TP." are all ignored.
The names come from the registry seeds; extra spellings from `province_aliases.csv`.
"""

from __future__ import annotations

import csv
import difflib
import re
from functools import lru_cache

from portal_index.config import SEEDS_DIR
from portal_index.text import fold

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


@lru_cache(maxsize=None)
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


def province_name(code: str, era: str = "63") -> str:
    return _index(era)[1][code]
