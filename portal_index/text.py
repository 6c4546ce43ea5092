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


def contains_phrase(folded_text: str, folded_phrase: str) -> bool:
    """Whole-word phrase match on folded text ('gop y' matches 'Góp ý', not 'gop you')."""
    return re.search(rf"(?<!\w){re.escape(folded_phrase)}(?!\w)", folded_text) is not None
