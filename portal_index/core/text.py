"""Text folding for matching Vietnamese text with or without diacritics, in NFC or NFD."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def strip_diacritics(text: str) -> str:
    """'Hoà Bình' and 'Hòa Bình' (either tone-mark placement, NFC or NFD) -> 'Hoa Binh'."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Case-, diacritic- and whitespace-insensitive form used for every comparison."""
    return _SPACES.sub(" ", strip_diacritics(text).casefold()).strip()


def identity(text: str) -> str:
    """The form in which two spellings of one name or code are the same: Unicode NFC, case-folded,
    inner whitespace collapsed ('ĐGV-07 ' and 'đgv-07' are one evaluator; 'Hà' and 'Hạ' stay two).
    The SQL macro `identity_key` (dbt_project/macros/identity_key.sql) is the same rule."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def contains_phrase(folded_text: str, folded_phrase: str) -> bool:
    """Whole-word phrase match on folded text ('gop y' matches 'Góp ý', not 'gop you')."""
    return re.search(rf"(?<!\w){re.escape(folded_phrase)}(?!\w)", folded_text) is not None


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def to_windows_1258(text: str) -> bytes:
    """Windows-1258 as legacy Vietnamese software writes it: precomposed â ê ô ơ ư ă, tone marks
    combining (the code page has no precomposed toned letters)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        out.append(
            unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            + "".join(c for c in parts if c in _TONES)
        )
    return "".join(out).encode("cp1258")
