"""Signals extracted from crawled pages, with evidence.

Keyword, regex, link and form rules come from the editable seed
`dbt_project/seeds/methodology/signal_keywords.csv`; matching is on folded text (any case, with or
without diacritics, NFC or NFD). The page-level facts are combined per portal by `PortalSignals`.
"""

from __future__ import annotations

import csv
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from portal_index.config import SEEDS_DIR, keywords_override
from portal_index.core.text import contains_phrase

KEYWORDS_FILE = SEEDS_DIR / "methodology" / "signal_keywords.csv"
# The page checks behind A01 (a11y.*) and A02 (mobile_viewport), read on the home page only; the
# indicator catalog selects them by measure name. The one list: the simulator and synth use it too.
ACCESSIBILITY_CHECKS = ("a11y.lang", "a11y.img_alt", "a11y.form_labels", "a11y.headings", "mobile_viewport")
_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_SPACES = re.compile(r"\s+")


class _Bare(dict):
    """A `str.translate` table that deletes combining marks, filled as characters are met (the
    whole of Unicode would take a fifth of a second to scan in every crawl process)."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.combining(chr(code)) else code
        return self[code]


_BARE = _Bare()


def fold(text: str) -> str:
    """`portal_index.core.text.fold`, the same result, in C loops: every page's text and every
    candidate evidence element is folded, and the character-by-character generator was a visible
    share of a page's CPU. ASCII text needs no normalising."""
    if text.isascii():
        return _SPACES.sub(" ", text.lower()).strip()
    bare = unicodedata.normalize("NFD", text).translate(_BARE).replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", bare.casefold()).strip()


@dataclass(frozen=True)
class Keywords:
    phrases: dict[str, tuple[str, ...]]
    regexes: dict[str, tuple[re.Pattern, ...]]
    hreflang: dict[str, tuple[str, ...]]
    paths: dict[str, tuple[str, ...]]
    search_inputs: frozenset[str]
    search_query: str
    no_results: tuple[str, ...]
    phrase_patterns: dict[str, re.Pattern]
    version: str  # sha256 of the seed file (12 hex digits), recorded with every signal row

    @property
    def keyword_signals(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.phrases) | set(self.regexes) | set(self.hreflang) | set(self.paths)))


def _phrase_patterns(phrases: dict[str, tuple[str, ...]]) -> dict[str, re.Pattern]:
    """One whole-word alternation per signal (the rule of `contains_phrase`), compiled once."""
    return {
        signal: re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(p) for p in sorted(ps, key=len, reverse=True)) + r")(?!\w)"
        )
        for signal, ps in phrases.items()
    }


def keywords_file() -> Path:
    """The keyword seed; `PORTAL_INDEX_KEYWORDS` points at an edited copy to try it on archived crawls."""
    return keywords_override() or KEYWORDS_FILE


def load_keywords(path: Path | None = None) -> Keywords:
    return _load_keywords(Path(path or keywords_file()).resolve())


@lru_cache(maxsize=4)
def _load_keywords(path: Path) -> Keywords:
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            groups[row["match"]][row["signal_id"]].append(row["pattern"])
    known = {"phrase", "regex", "hreflang", "path", "input_name", "query", "no_results"}
    if set(groups) - known:
        raise ValueError(f"{path}: unknown match kinds {sorted(set(groups) - known)}; expected {sorted(known)}")
    return Keywords(
        phrases={s: tuple(fold(p) for p in ps) for s, ps in groups["phrase"].items()},
        regexes={s: tuple(re.compile(p) for p in ps) for s, ps in groups["regex"].items()},
        hreflang={s: tuple(p.lower() for p in ps) for s, ps in groups["hreflang"].items()},
        paths={s: tuple(ps) for s, ps in groups["path"].items()},
        search_inputs=frozenset(p.lower() for ps in groups["input_name"].values() for p in ps),
        search_query=next(iter(groups["query"].get("search", [])), "thủ tục"),
        no_results=tuple(fold(p) for ps in groups["no_results"].values() for p in ps),
        phrase_patterns=_phrase_patterns({s: tuple(fold(p) for p in ps) for s, ps in groups["phrase"].items()}),
        version=hashlib.sha256(path.read_bytes()).hexdigest()[:12],
    )


@dataclass
class PageFacts:
    url: str
    found: dict[str, str] = field(default_factory=dict)  # signal -> matched text
    links: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    search_form: tuple[str, str] | None = None  # (action URL, input name)
    checks: dict[str, float] = field(default_factory=dict)  # accessibility and viewport, 0/1
    read_as: str = "static"  # static: the HTML as served; rendered: the DOM a browser built from it


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# windows-1258 is the legacy Vietnamese code page still served by old portals; latin-1 never fails
_FALLBACKS = ("utf-8", "cp1258")


def declared_charset(content_type: str | None) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return content_type.lower().split("charset=")[-1].split(";")[0].strip(" \"'") or None
    return None


def decode(body: bytes, content_type: str | None) -> str:
    """Text of a page: BOM first, then the HTTP charset, then <meta charset>, then UTF-8, then
    windows-1258; never raises (undecodable bytes become U+FFFD)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    meta = _META_CHARSET.search(body[:4096])
    declared = [declared_charset(content_type), meta.group(1).decode("ascii", "replace").lower() if meta else None]
    for encoding in dict.fromkeys(filter(None, [*declared, *_FALLBACKS])):
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


_BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"RIFF")


def looks_html(content_type: str | None, body: bytes) -> bool:
    """HTML by its Content-Type, or by its first bytes when the server labels it wrongly."""
    ctype = (content_type or "").lower()
    if body.startswith(_BINARY_MAGIC) or body[:1024].count(b"\x00") > 16:
        return False  # an image, PDF or archive, whatever the header says
    if "html" in ctype:
        return True
    if ctype.startswith(("image/", "audio/", "video/", "font/")) or "json" in ctype or "xml" in ctype:
        return False
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


_EVIDENCE_NODES = ("a", "li", "h1", "h2", "h3", "label", "title", "p", "td", "span", "footer", "div", "body")


def _matched_text(tree: LexborHTMLParser, test) -> str | None:
    """The page's own words that matched: the smallest usual element whose folded text passes `test`."""
    for tag in _EVIDENCE_NODES:
        for node in tree.css(tag):
            text = " ".join(node.text(separator=" ").split())
            if text and test(fold(text)):
                return text[:160]
    return None


def page_links(tree: LexborHTMLParser, url: str, kw: Keywords) -> tuple[list[str], tuple[str, str] | None]:
    """Absolute links of a page (no mailto/tel/javascript/fragments) and its search form, if any."""
    links = []
    for node in tree.css("a[href]"):
        href = (node.attributes.get("href") or "").strip()
        if href and not href.lower().startswith(("mailto:", "tel:", "javascript:", "#", "data:")):
            try:
                links.append(urljoin(url, href))
            except ValueError:  # malformed href (e.g. a bad IPv6 literal): not a link
                continue
    for form in tree.css("form"):
        for inp in form.css("input"):
            name = (inp.attributes.get("name") or "").lower()
            if name in kw.search_inputs or (inp.attributes.get("type") or "").lower() == "search":
                try:
                    return links, (urljoin(url, form.attributes.get("action") or url), name or "q")
                except ValueError:
                    continue
    return links, None


def page_facts(html: str, url: str, kw: Keywords, known: Collection[str] = ()) -> PageFacts:
    """A page's signals, links, dates and checks. Signals in `known` (the portal has them from an
    earlier page, whose evidence stands) are not looked for: finding a signal's words on the page
    scans its elements, and a footer repeats the same signals on every page of a portal."""
    tree = LexborHTMLParser(html)
    facts = PageFacts(url=url)
    body_text = tree.body.text(separator=" ") if tree.body else ""
    title = tree.css_first("title")
    raw_text = " ".join(filter(None, [title.text() if title else "", body_text]))
    folded = fold(raw_text)
    for signal, pattern in kw.phrase_patterns.items():
        if signal in known:
            continue
        m = pattern.search(folded)
        if m:
            phrase = m.group(0)
            facts.found[signal] = _matched_text(tree, lambda t, p=phrase: contains_phrase(t, p)) or phrase
    for signal, patterns in kw.regexes.items():
        if signal in known:
            continue
        for pattern in patterns:
            m = pattern.search(folded)
            if m:
                facts.found[signal] = _matched_text(tree, lambda t, p=pattern: p.search(t) is not None) or m.group(0)
                break
    for node in tree.css("link[hreflang], a[hreflang]"):
        lang = (node.attributes.get("hreflang") or "").lower()
        for signal, langs in kw.hreflang.items():
            if lang in langs:
                facts.found.setdefault(signal, f"hreflang={lang}")
    facts.links, facts.search_form = page_links(tree, url, kw)
    for d, m, y in _DATE.findall(raw_text):
        try:
            facts.dates.append(date(int(y), int(m), int(d)))
        except ValueError:
            pass
    facts.checks = accessibility_checks(tree)
    return facts


def accessibility_checks(tree: LexborHTMLParser) -> dict[str, float]:
    html = tree.css_first("html")
    imgs = tree.css("img")
    labelled_ids = {lab.attributes.get("for") for lab in tree.css("label[for]")}
    fields = [
        i
        for i in tree.css("input, select, textarea")
        if (i.attributes.get("type") or "text").lower() not in ("hidden", "submit", "button", "image", "reset")
    ]

    def labelled(node) -> bool:
        a = node.attributes
        if a.get("aria-label") or a.get("aria-labelledby") or a.get("title") or (a.get("id") in labelled_ids):
            return True
        parent = node.parent
        while parent is not None:
            if parent.tag == "label":
                return True
            parent = parent.parent
        return False

    return {
        "a11y.lang": float(bool(html is not None and (html.attributes.get("lang") or "").strip())),
        "a11y.img_alt": float(all("alt" in img.attributes for img in imgs)),
        "a11y.form_labels": float(all(labelled(f) for f in fields)),
        "a11y.headings": float(tree.css_first("h1") is not None),
        "mobile_viewport": float(tree.css_first("meta[name=viewport]") is not None),
    }


def search_returned_results(html: str, kw: Keywords) -> bool:
    folded = fold(LexborHTMLParser(html).text(separator=" "))
    if any(contains_phrase(folded, p) for p in kw.no_results):
        return False
    return contains_phrase(folded, fold(kw.search_query))


@dataclass
class PortalSignals:
    """Combines page facts into one value per signal for a portal, with evidence."""

    kw: Keywords
    values: dict[str, tuple[float, str | None, str | None, str | None]] = field(default_factory=dict)
    rendered: bool = False  # a page of the portal was read from its rendered DOM
    unknown: set[str] = field(default_factory=set)  # signals whose page could not be read: no row (missing)

    def add_page(self, facts: PageFacts) -> None:
        self.rendered = self.rendered or facts.read_as == "rendered"
        for signal, matched in facts.found.items():
            if signal not in self.values:
                self.values[signal] = (1.0, facts.url, matched, facts.read_as)

    def add_found(self, signal: str, url: str, evidence: str) -> None:
        self.values.setdefault(signal, (1.0, url, evidence, "static"))

    def set(
        self, signal: str, value: float, url: str | None, evidence: str | None = None, read_as: str | None = None
    ) -> None:
        self.values[signal] = (value, url, evidence, read_as)

    def rows(self, base: dict) -> list[dict]:
        """One row per signal; `read_as` is how the page holding its evidence was read, and for a
        signal found nowhere, `rendered` when any page of the portal was rendered, else `static`."""
        portal_read = "rendered" if self.rendered else "static"
        out = []
        for signal in sorted((set(self.kw.keyword_signals) | set(self.values)) - (self.unknown - set(self.values))):
            value, url, evidence, read_as = self.values.get(signal, (0.0, None, None, None))
            out.append(
                {
                    **base,
                    "signal_id": signal,
                    "value": value,
                    "evidence_url": url,
                    "evidence_text": evidence,
                    "read_as": read_as or portal_read,
                }
            )
        return out


def newest_age_days(dates: list[date], today: date) -> int | None:
    past = [d for d in dates if d <= today]
    return (today - max(past)).days if past else None
