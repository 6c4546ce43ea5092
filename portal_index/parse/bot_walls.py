"""Bot walls: the page an anti-DDoS service, a WAF or a captcha answers with instead of the portal's.

A wall is Cloudflare's "Just a moment...", F5's "The requested URL was rejected", Imperva's incident
page, a reCAPTCHA form or a home-made script that sets a cookie and reloads. Read as content, it would
score the portal as having no menu, no search box and no feedback link.

We never try to get past a wall: no solving captchas, no computing a challenge's cookie, no disguising
the crawler as a person's browser. The crawler says it is a bot, and an operator who put up a wall chose to
keep bots out. A walled page is recorded as `blocked` with `Wall.reason()`, and the indicators that needed it are
`not_measurable`: a wall is never a 0 the portal did not earn.

The rules are data, `templates/bot_walls.yml`: vendor markers in headers and body, the statuses they
need, what a small (wall-sized) page is, the generic JavaScript-challenge and captcha heuristics, and how
sure we are of each marker. Only the first 64 KiB of a body are read, and no input (None, binary, huge,
malformed) makes `wall_of` or `challenge_redirect` raise.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from selectolax.lexbor import LexborHTMLParser

from portal_index.core.text import fold

RULES_FILE = Path(__file__).parent / "templates" / "bot_walls.yml"
KINDS = ("challenge", "waf", "captcha")
WHERE = ("blocked_or_small", "small", "blocked_and_small")
CONFIDENCE = ("documented", "reported", "plausible")
EVIDENCE_CHARS = 120
_MAX_HEADERS = 500  # more is not an HTTP answer; the rest are ignored
_HIDDEN = ["script", "style", "noscript", "template"]
_NOT_LINKS = ("#", "javascript:", "mailto:", "tel:")
_META_REFRESH = re.compile(r"""<meta\b[^>]*?http-equiv\s*=\s*["']?\s*refresh[^>]*>""", re.I)
_REFRESH_URL = re.compile(r"""url\s*=\s*["']?\s*([^"'\s>]+)""", re.I)


@dataclass(frozen=True)
class Wall:
    kind: str  # "challenge" | "waf" | "captcha"
    vendor: str  # "cloudflare", "imperva", "f5", "akamai", "sucuri", "aws", "ddos-guard", "modsecurity", ..., "unknown"
    evidence: str  # the marker that matched, at most EVIDENCE_CHARS characters

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", _short(self.evidence))

    def reason(self) -> str:
        return f"blocked: {self.kind} ({self.vendor}): {self.evidence}"


def _short(text: object) -> str:
    """One line of printable text, cut to EVIDENCE_CHARS (it ends up in a CSV cell and a log line)."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)[: EVIDENCE_CHARS * 4]).split())
    return line if len(line) <= EVIDENCE_CHARS else line[: EVIDENCE_CHARS - 1] + "…"


class _Text:
    """Text as markers see it: entities decoded (optional), whitespace collapsed, lower case; and,
    for Vietnamese markers, without diacritics (computed only when asked for)."""

    def __init__(self, raw: str, unescape: bool = True) -> None:
        self.lowered = " ".join((html.unescape(raw) if unescape and "&" in raw else raw).split()).lower()

    @cached_property
    def folded(self) -> str:
        return fold(self.lowered)


@dataclass(frozen=True)
class Marker:
    text: str  # as written in the rules: the string, or the regular expression
    example: str  # text it matches (a plain marker is its own example)
    pattern: re.Pattern | None = None
    needle: str = ""  # a plain marker, normalised like `_Text`
    folded: bool = False  # holds non-ASCII letters: matched on text without diacritics

    def find(self, text: _Text) -> str | None:
        """The evidence: the marker as written, or the text a regular expression matched."""
        haystack = text.folded if self.folded else text.lowered
        if self.pattern is not None:
            m = self.pattern.search(haystack)
            return m.group(0) if m else None
        return self.text if self.needle in haystack else None


@dataclass(frozen=True)
class HeaderRule:
    vendor: str
    header: str  # lower case
    value: Marker | None  # None: any value
    kind: str | None  # an action header's kind; None for a presence header

    def match(self, pairs: list[tuple[str, str]]) -> str | None:
        for name, value in pairs:
            if name != self.header:
                continue
            if self.value is None:
                return f"{name}: {value}"
            hit = self.value.find(_Text(value, unescape=False))
            if hit:
                return f"{name}: {hit}"
        return None


@dataclass(frozen=True)
class BodyRule:
    vendor: str
    kind: str
    where: str
    confidence: str
    any: tuple[Marker, ...] = ()
    all: tuple[Marker, ...] = ()

    def find(self, text: _Text) -> str | None:
        for marker in self.any:
            hit = marker.find(text)
            if hit:
                return hit
        if self.all:
            hits = [marker.find(text) for marker in self.all]
            if all(hits):
                return " + ".join(hits)
        return None


@dataclass(frozen=True)
class ChallengePath:
    vendor: str
    marker: Marker
    confidence: str


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_text_chars: int
    max_links: int


@dataclass(frozen=True)
class Rules:
    version: int
    body_window: int
    blocking: frozenset[int]
    header_only: frozenset[int]
    small: Limits
    tiny: Limits
    actions: tuple[HeaderRule, ...]
    presence: tuple[HeaderRule, ...]
    body: tuple[BodyRule, ...]
    challenge_paths: tuple[ChallengePath, ...]
    sets_cookie: tuple[Marker, ...]
    navigates: tuple[Marker, ...]
    app_roots: tuple[str, ...]
    captcha_widgets: tuple[Marker, ...]
    captcha_word: str
    not_fields: frozenset[str]
    confidence: dict[str, str]  # vendor -> its default confidence

    @property
    def vendors(self) -> tuple[str, ...]:
        """Every vendor the rules name, in the order they are tried."""
        named = [*self.confidence, *(p.vendor for p in self.challenge_paths)]
        return tuple(dict.fromkeys(named))


# ---------------------------------------------------------------------------------------------- loading


def _keys(spec: object, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping, got {spec!r}")
    if set(spec) - allowed or required - set(spec):
        raise ValueError(f"{where}: keys {sorted(spec)}; allowed {sorted(allowed)}, required {sorted(required)}")
    return spec


def _one_of(value: object, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ValueError(f"{where}: {value!r} is not one of {choices}")
    return str(value)


def _marker(spec: object, where: str) -> Marker:
    if isinstance(spec, str) and spec.strip():
        folded = not spec.isascii()
        return Marker(spec, spec, needle=fold(spec) if folded else " ".join(spec.split()).lower(), folded=folded)
    spec = _keys(spec, where, {"re", "example"}, {"re", "example"})
    pattern, example = re.compile(str(spec["re"]), re.I | re.S), str(spec["example"])
    marker = Marker(pattern.pattern, example, pattern=pattern, folded=not pattern.pattern.isascii())
    if marker.find(_Text(example)) is None:
        raise ValueError(f"{where}: {pattern.pattern!r} does not match its example {example!r}")
    return marker


def _markers(specs: object, where: str) -> tuple[Marker, ...]:
    if not isinstance(specs, list) or not specs:
        raise ValueError(f"{where}: expected a non-empty list of markers")
    return tuple(_marker(s, f"{where}[{i}]") for i, s in enumerate(specs))


def _limits(spec: object, where: str, window: int) -> Limits:
    spec = _keys(
        spec, where, {"max_bytes", "max_text_chars", "max_links"}, {"max_bytes", "max_text_chars", "max_links"}
    )
    limits = Limits(int(spec["max_bytes"]), int(spec["max_text_chars"]), int(spec["max_links"]))
    if not 0 < limits.max_bytes < window:  # a body cut at the window must never pass for a small page
        raise ValueError(f"{where}: max_bytes must be below body_window ({window})")
    return limits


def _header_rule(spec: object, vendor: str, where: str, action: bool) -> HeaderRule:
    spec = _keys(spec, where, {"header", "value", "kind"} if action else {"header", "value"}, {"header"})
    value = _marker(spec["value"], f"{where}.value") if "value" in spec else None
    kind = _one_of(spec.get("kind", "waf"), KINDS, f"{where}.kind") if action else None
    return HeaderRule(vendor, str(spec["header"]).strip().lower(), value, kind)


def _load(path: Path) -> Rules:
    raw = _keys(
        yaml.safe_load(path.read_text(encoding="utf-8")),
        str(path),
        {"version", "body_window", "statuses", "pages", "vendors", "challenge_paths", "js_challenge", "captcha"},
        {"version", "body_window", "statuses", "pages", "vendors", "challenge_paths", "js_challenge", "captcha"},
    )
    window = int(raw["body_window"])
    statuses = _keys(raw["statuses"], "statuses", {"blocking", "header_only"}, {"blocking", "header_only"})
    pages = _keys(raw["pages"], "pages", {"small", "tiny"}, {"small", "tiny"})
    actions, presence, body, confidence = [], [], [], {}
    if not isinstance(raw["vendors"], dict):
        raise ValueError("vendors: expected a mapping of vendor name to rules")
    for vendor, spec in raw["vendors"].items():
        spec = _keys(spec, f"vendors.{vendor}", {"confidence", "presence", "action", "body"}, {"confidence"})
        confidence[vendor] = _one_of(spec["confidence"], CONFIDENCE, f"vendors.{vendor}.confidence")
        presence += [_header_rule(h, vendor, f"vendors.{vendor}.presence", False) for h in spec.get("presence", [])]
        actions += [_header_rule(h, vendor, f"vendors.{vendor}.action", True) for h in spec.get("action", [])]
        for i, rule in enumerate(spec.get("body", [])):
            where = f"vendors.{vendor}.body[{i}]"
            rule = _keys(rule, where, {"kind", "any", "all", "where", "confidence"}, {"kind"})
            if ("any" in rule) == ("all" in rule):
                raise ValueError(f"{where}: give either `any` or `all` markers")
            body.append(
                BodyRule(
                    vendor=vendor,
                    kind=_one_of(rule["kind"], KINDS, f"{where}.kind"),
                    where=_one_of(rule.get("where", WHERE[0]), WHERE, f"{where}.where"),
                    confidence=_one_of(rule.get("confidence", confidence[vendor]), CONFIDENCE, f"{where}.confidence"),
                    any=_markers(rule["any"], f"{where}.any") if "any" in rule else (),
                    all=_markers(rule["all"], f"{where}.all") if "all" in rule else (),
                )
            )
    paths = []
    for i, spec in enumerate(raw["challenge_paths"]):
        spec = _keys(spec, f"challenge_paths[{i}]", {"vendor", "match", "confidence"}, {"vendor", "match"})
        vendor = str(spec["vendor"])
        default = confidence.get(vendor, "plausible")
        paths.append(
            ChallengePath(
                vendor,
                _marker(spec["match"], f"challenge_paths[{i}].match"),
                _one_of(spec.get("confidence", default), CONFIDENCE, f"challenge_paths[{i}].confidence"),
            )
        )
    js = _keys(
        raw["js_challenge"], "js_challenge", {"sets_cookie", "navigates", "app_roots"}, {"sets_cookie", "navigates"}
    )
    roots = tuple(str(s) for s in js.get("app_roots", []))
    probe = LexborHTMLParser("<p></p>")
    for selector in roots:  # a bad selector fails here, not on a portal's page
        try:
            probe.css(selector)
        except Exception as e:  # selectolax's own error type
            raise ValueError(f"js_challenge.app_roots: {selector!r} is not a CSS selector") from e
    captcha = _keys(raw["captcha"], "captcha", {"widgets", "field_word", "not_fields"}, {"widgets", "field_word"})
    return Rules(
        version=int(raw["version"]),
        body_window=window,
        blocking=frozenset(int(s) for s in statuses["blocking"]),
        header_only=frozenset(int(s) for s in statuses["header_only"]),
        small=_limits(pages["small"], "pages.small", window),
        tiny=_limits(pages["tiny"], "pages.tiny", window),
        actions=tuple(actions),
        presence=tuple(presence),
        body=tuple(body),
        challenge_paths=tuple(paths),
        sets_cookie=_markers(js["sets_cookie"], "js_challenge.sets_cookie"),
        navigates=_markers(js["navigates"], "js_challenge.navigates"),
        app_roots=roots,
        captcha_widgets=_markers(captcha["widgets"], "captcha.widgets"),
        captcha_word=str(captcha["field_word"]).lower(),
        not_fields=frozenset(str(t).lower() for t in captcha.get("not_fields", [])),
        confidence=confidence,
    )


@cache
def rules(path: Path = RULES_FILE) -> Rules:
    """The rules file, read once; a malformed one raises ValueError (it is ours, not a portal's input)."""
    return _load(Path(path))


# --------------------------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class _Facts:
    text_chars: int  # visible text, whitespace collapsed
    links: int
    scripts: tuple[str, ...]  # inline scripts' code
    app_root: bool
    fields: int  # form fields a visitor fills in, other than a captcha's own
    captcha_form: bool  # a form holds the captcha word


class _Page:
    """A body as the rules see it; each view is computed once, and only when a rule asks for it."""

    def __init__(self, raw: str, size: int, r: Rules) -> None:
        self.raw, self.size, self.r = raw, size, r

    @cached_property
    def text(self) -> _Text:
        return _Text(self.raw)

    @cached_property
    def facts(self) -> _Facts | None:
        try:
            tree = LexborHTMLParser(self.raw)
        except Exception:  # selectolax is C code: a page it cannot parse is not taken for a small one
            return None
        word = self.r.captcha_word
        fields = 0
        for node in tree.css("input, select, textarea"):
            a = node.attributes
            if node.tag == "input" and (a.get("type") or "text").strip().lower() in self.r.not_fields:
                continue
            if word not in " ".join(str(a.get(k) or "") for k in ("name", "id", "class")).lower():
                fields += 1
        links = 0
        for node in tree.css("a[href]"):
            href = (node.attributes.get("href") or "").strip().lower()
            links += bool(href) and not href.startswith(_NOT_LINKS)
        scripts = tuple(n.text(deep=True) for n in tree.css("script") if not n.attributes.get("src"))
        facts = dict(
            links=links,
            scripts=scripts,
            app_root=any(tree.css_first(s) is not None for s in self.r.app_roots),
            fields=fields,
            captcha_form=any(word in (f.html or "").lower() for f in tree.css("form")),
        )
        tree.strip_tags(_HIDDEN)
        visible = tree.body.text(separator=" ") if tree.body is not None else ""
        return _Facts(text_chars=len(" ".join(visible.split())), **facts)

    def within(self, limits: Limits) -> bool:
        """Small enough in bytes (cheap: no parsing)."""
        return bool(self.raw) and self.size <= limits.max_bytes

    def fits(self, limits: Limits) -> bool:
        if not self.within(limits):
            return False
        f = self.facts
        return f is not None and f.text_chars <= limits.max_text_chars and f.links <= limits.max_links


# ---------------------------------------------------------------------------------------------- inputs


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")  # how HTTP header bytes map to text
    return value if isinstance(value, str) else str(value)


def _status(status: object) -> int | None:
    if isinstance(status, bool):
        return None
    if isinstance(status, int):
        return int(status)
    if isinstance(status, float) and status.is_integer():
        return int(status)
    if isinstance(status, str | bytes) and len(status.strip()) <= 3:  # "403" read from a CSV
        try:
            return int(status)
        except ValueError:
            return None
    return None


def _headers(headers: object) -> list[tuple[str, str]]:
    """(lower-case name, value) pairs from a dict, an httpx.Headers, or a list of pairs; anything else is none."""
    if isinstance(headers, Mapping):
        items: Iterable = headers.items()
    elif isinstance(headers, Iterable) and not isinstance(headers, str | bytes | bytearray | memoryview):
        items = headers
    else:
        return []
    pairs = []
    for item in itertools.islice(items, _MAX_HEADERS):
        if not isinstance(item, tuple | list) or len(item) != 2:
            continue
        pairs.append((_as_text(item[0]).strip().lower(), _as_text(item[1])[:4096]))
    return pairs


def _body(body: object, window: int) -> tuple[str, int]:
    """The first `window` bytes as text (UTF-8, undecodable bytes replaced) and the body's size in bytes;
    binary content is no text."""
    if isinstance(body, bytes | bytearray | memoryview):
        size = len(body)
        text = bytes(body[:window]).decode("utf-8", errors="replace")
    elif isinstance(body, str):
        head = body[: window + 1].encode("utf-8", errors="replace")  # lone surrogates become "?"
        size = len(head) if len(body) <= window else max(len(head), window + 1)
        text = head[:window].decode("utf-8", errors="replace")
    else:
        return "", 0
    if text[:1024].count("\x00") > 16:  # an image, an archive, UTF-16: not a page markers can be read in
        return "", size
    return text, size


# ------------------------------------------------------------------------------------------- detection


def challenge_redirect(location: str | None) -> Wall | None:
    """A redirect (a Location header, a meta refresh) into a challenge's own path: a wall, whatever the page."""
    text = _as_text(location)[:4096].strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    except ValueError:  # a malformed URL (e.g. a bad IPv6 literal): read as it is
        target = text
    path = _Text(target, unescape=False)
    for rule in rules().challenge_paths:
        hit = rule.marker.find(path)
        if hit:
            return Wall("challenge", rule.vendor, f"redirect to {hit}")
    return None


def _meta_refresh(raw: str) -> Wall | None:
    for tag in itertools.islice(_META_REFRESH.finditer(raw), 8):
        url = _REFRESH_URL.search(tag.group(0))
        wall = challenge_redirect(html.unescape(url.group(1))) if url else None
        if wall is not None:
            return Wall("challenge", wall.vendor, f"meta refresh {wall.evidence}")
    return None


def _captcha(page: _Page, r: Rules) -> str | None:
    """A tiny page whose only form fields are a captcha's."""
    if not page.within(r.tiny):
        return None
    widget = next((hit for m in r.captcha_widgets if (hit := m.find(page.text))), None)
    if widget is None and r.captcha_word not in page.text.lowered:
        return None
    if not page.fits(r.tiny) or page.facts.fields:  # a login, lookup or feedback form of the portal's own
        return None
    return widget or (f"form with a {r.captcha_word}" if page.facts.captcha_form else None)


def _js_challenge(page: _Page, r: Rules) -> str | None:
    """A tiny page, not an app shell, whose inline script sets a cookie and reloads or re-navigates."""
    if not page.within(r.tiny) or not any(m.find(page.text) for m in r.sets_cookie):
        return None
    if not page.fits(r.tiny) or page.facts.app_root:
        return None
    for code in page.facts.scripts:
        script = _Text(code, unescape=False)
        cookie = next((hit for m in r.sets_cookie if (hit := m.find(script))), None)
        moves = next((hit for m in r.navigates if (hit := m.find(script))), None)
        if cookie and moves:
            return f"{cookie} + {moves}"
    return None


def wall_of(
    status: int | None, headers: list[tuple[str, str]] | dict[str, str] | None, body: bytes | str | None
) -> Wall | None:
    """The wall this answer is, or None when it may be the portal's own page.

    In order: a redirect into a challenge path; a vendor's action header (any status); a vendor's body
    marker (with a blocking status, or on a small page); a meta refresh into a challenge path; a tiny
    captcha-only page; a tiny page whose script sets a cookie and reloads; a vendor's presence header
    with a `header_only` status (403, 429). A plain 403, 429 or 503 is not a wall.
    """
    r = rules()
    code, pairs = _status(status), _headers(headers)
    for name, value in pairs:
        if name == "location" and (wall := challenge_redirect(value)) is not None:
            return wall
    for rule in r.actions:
        if hit := rule.match(pairs):
            return Wall(rule.kind or "waf", rule.vendor, hit)
    presence = next(((rule.vendor, hit) for rule in r.presence if (hit := rule.match(pairs))), None)
    named = presence[0] if presence else "unknown"
    raw, size = _body(body, r.body_window)
    page = _Page(raw, size, r)
    blocked = code in r.blocking
    if raw and (blocked or page.within(r.small)):
        for rule in r.body:
            if rule.where == "blocked_and_small" and not blocked:
                continue
            # the marker first: parsing the page to see whether it is small costs more, and most pages
            # hold no marker at all
            if (hit := rule.find(page.text)) is None:
                continue
            if not (blocked and rule.where == "blocked_or_small") and not page.fits(r.small):
                continue
            return Wall(rule.kind, rule.vendor if rule.vendor != "unknown" else named, hit)
    if raw:
        if (wall := _meta_refresh(raw)) is not None:
            return wall
        if hit := _captcha(page, r):
            return Wall("captcha", named, hit)
        if hit := _js_challenge(page, r):
            return Wall("challenge", named, hit)
    if presence is not None and code in r.header_only:
        return Wall("waf", *presence)
    return None
