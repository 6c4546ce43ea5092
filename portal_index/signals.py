"""Signals extracted from crawled pages, with evidence.

Keyword, regex, link and form rules come from the editable seed
`dbt_project/seeds/methodology/signal_keywords.csv`; matching is on folded text (any case, with or
without diacritics, NFC or NFD). The page-level facts are combined per portal by `PortalSignals`.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from portal_index.config import SEEDS_DIR
from portal_index.text import contains_phrase, fold

KEYWORDS_FILE = SEEDS_DIR / "methodology" / "signal_keywords.csv"
HOME_ONLY = ("a11y.lang", "a11y.img_alt", "a11y.form_labels", "a11y.headings", "mobile_viewport")
_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


@dataclass(frozen=True)
class Keywords:
    phrases: dict[str, tuple[str, ...]]
    regexes: dict[str, tuple[re.Pattern, ...]]
    hreflang: dict[str, tuple[str, ...]]
    paths: dict[str, tuple[str, ...]]
    search_inputs: frozenset[str]
    search_query: str
    no_results: tuple[str, ...]

    @property
    def keyword_signals(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.phrases) | set(self.regexes) | set(self.hreflang) | set(self.paths)))


@lru_cache(maxsize=4)
def load_keywords(path: Path = KEYWORDS_FILE) -> Keywords:
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
    )


@dataclass
class PageFacts:
    url: str
    found: dict[str, str] = field(default_factory=dict)  # signal -> matched text
    links: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    search_form: tuple[str, str] | None = None  # (action URL, input name)
    checks: dict[str, float] = field(default_factory=dict)  # accessibility and viewport, 0/1


def decode(body: bytes, content_type: str | None) -> str:
    charset = None
    if content_type and "charset=" in content_type.lower():
        charset = content_type.lower().split("charset=")[-1].split(";")[0].strip()
    for encoding in filter(None, (charset, "utf-8", "cp1258")):
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


def page_facts(html: str, url: str, kw: Keywords) -> PageFacts:
    tree = LexborHTMLParser(html)
    facts = PageFacts(url=url)
    body_text = tree.body.text(separator=" ") if tree.body else ""
    title = tree.css_first("title")
    raw_text = " ".join(filter(None, [title.text() if title else "", body_text]))
    folded = fold(raw_text)
    for signal, phrases in kw.phrases.items():
        for phrase in phrases:
            if contains_phrase(folded, phrase):
                facts.found.setdefault(signal, phrase)
                break
    for signal, patterns in kw.regexes.items():
        for pattern in patterns:
            m = pattern.search(folded)
            if m:
                facts.found.setdefault(signal, m.group(0))
                break
    for node in tree.css("a[href], link[hreflang]"):
        href = node.attributes.get("href")
        lang = (node.attributes.get("hreflang") or "").lower()
        for signal, langs in kw.hreflang.items():
            if lang in langs:
                facts.found.setdefault(signal, f"hreflang={lang}")
        if node.tag == "a" and href and not href.startswith(("mailto:", "tel:", "javascript:", "#")):
            facts.links.append(urljoin(url, href))
    for d, m, y in _DATE.findall(raw_text):
        try:
            facts.dates.append(date(int(y), int(m), int(d)))
        except ValueError:
            pass
    for form in tree.css("form"):
        for inp in form.css("input"):
            name = (inp.attributes.get("name") or "").lower()
            if name in kw.search_inputs or (inp.attributes.get("type") or "").lower() == "search":
                facts.search_form = (urljoin(url, form.attributes.get("action") or url), name or "q")
                break
        if facts.search_form:
            break
    facts.checks = accessibility_checks(tree)
    return facts


def accessibility_checks(tree: LexborHTMLParser) -> dict[str, float]:
    html = tree.css_first("html")
    imgs = tree.css("img")
    labelled_ids = {lab.attributes.get("for") for lab in tree.css("label[for]")}
    fields = [i for i in tree.css("input, select, textarea")
              if (i.attributes.get("type") or "text").lower() not in ("hidden", "submit", "button", "image", "reset")]

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
    values: dict[str, tuple[float, str | None, str | None]] = field(default_factory=dict)

    def add_page(self, facts: PageFacts) -> None:
        for signal, matched in facts.found.items():
            if signal not in self.values:
                self.values[signal] = (1.0, facts.url, matched)

    def add_found(self, signal: str, url: str, evidence: str) -> None:
        self.values.setdefault(signal, (1.0, url, evidence))

    def set(self, signal: str, value: float, url: str | None, evidence: str | None = None) -> None:
        self.values[signal] = (value, url, evidence)

    def rows(self, base: dict) -> list[dict]:
        out = []
        for signal in sorted(set(self.kw.keyword_signals) | set(self.values)):
            value, url, evidence = self.values.get(signal, (0.0, None, None))
            out.append({**base, "signal_id": signal, "value": value, "evidence_url": url, "evidence_text": evidence})
        return out


def newest_age_days(dates: list[date], today: date) -> int | None:
    past = [d for d in dates if d <= today]
    return (today - max(past)).days if past else None

