"""Reading WARC files (ISO 28500, WARC 1.0 and 1.1) with warcio: the portal WARC files our crawler
writes (`portal_index.fetch.warc_writer`), and WARC files other tools write (GNU wget,
warcprox/Browsertrix, Heritrix, pywb), gzip per record or uncompressed.

Our file holds everything needed to re-derive the crawl's rows without the network:
- a `warcinfo` record: software, crawl id, portal, base URL, user-agent, limits;
- per HTTP exchange (each redirect hop included) a `request` and a `response` record;
- for a page rendered in a browser (an app shell whose content scripts build), a `conversion`
  record holding the rendered DOM, with `WARC-Refers-To` its response record;
- per logical fetch a `metadata` record (JSON, `application/vnd.portal-index.fetch+json`) that
  refers to its final response with `WARC-Concurrent-To`: role (robots, page, sitemap, search),
  depth, status, error, attempts, redirect chain, timings. Fetches that got no response (timeouts,
  refused connections, URLs disallowed by robots.txt) have only this record;
- a last `metadata` record summarising the portal's crawl (why it stopped, counts). A crawl of ours
  without it is incomplete (the file was cut), and `OwnCrawl.complete` says so.

Another tool's file is read for its `response` and `revisit` records of http(s) URLs (their HTTP
status, headers and payload) and the `Sec-Fetch-Dest` header of its `request` records; `warcinfo`,
`metadata`, `resource`, `dns:` and other records are passed over, whatever their content.

Reading is in two passes and never holds a whole payload: `scan` reads every record's headers (and
our small JSON records), checks that no record is cut short (a file cut mid-record, a gzip member
without its end, is a `WarcError`) and notes each record's byte offset; `Payloads` then reads the
payloads that are needed, one at a time, from their offsets, up to `MAX_PAYLOAD_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from warcio.archiveiterator import WARCIterator
from warcio.bufferedreaders import ChunkedDataException
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

FETCH_TYPE = "application/vnd.portal-index.fetch+json"
SUMMARY_TYPE = "application/vnd.portal-index.summary+json"
OUR_SOFTWARE = "portal-index/"

MAX_PAYLOAD_BYTES = 10_000_000  # a payload is read up to this many bytes (after HTTP decoding); the rest is cut
WALL_STATUSES = (403, 429, 503)  # answers whose headers may be a bot wall's (portal_index.parse.bot_walls)
MAX_METADATA_BYTES = 1_000_000  # warcinfo and our JSON metadata records are small; larger ones are not read whole
MAX_REDIRECTS = 10  # hops followed from one response record to the next within a file
COMPLETE = "a WARC file of portal-index fetch records, complete up to its closing summary record"
WHOLE = "a complete WARC file (gzip per record or uncompressed, every record whole)"

# not pages: what a browser or `wget --page-requisites` fetches to show a page
_ASSET_TYPES = ("image/", "audio/", "video/", "font/", "text/css", "application/wasm")
_ASSET_SUFFIXES = (
    ".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif", ".bmp",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".webm", ".ogg", ".wasm",
)  # fmt: skip
_PAGE_DESTINATIONS = ("document", "iframe", "frame")  # Sec-Fetch-Dest of a navigation
_TRUNCATED = {"length": "too_large", "time": "slow_response", "disconnect": "protocol_error"}


class WarcError(ValueError):
    """A WARC file that cannot be loaded; `problems` are (what was found, what was expected) pairs."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(value for value, _ in problems))


@dataclass
class Fetch:
    """A logical fetch read back from one of our WARCs: its metadata and, if any, its final response."""

    meta: dict
    body: bytes | None
    content_type: str | None


@dataclass
class PortalArchive:
    info: dict
    fetches: list[Fetch]
    summary: dict


@dataclass
class OwnCrawl:
    """One portal's crawl by our crawler: from its warcinfo record to its closing summary record."""

    info: dict
    fetches: list[tuple[dict, str | None]] = field(default_factory=list)  # (metadata, final response's record id)
    summary: dict | None = None
    first_record: int = 0
    last_record: int = 0
    end_offset: int = 0  # where its last record ends

    @property
    def complete(self) -> bool:
        return self.summary is not None

    @property
    def label(self) -> str:
        portals = {m.get("portal_id") for m, _ in self.fetches} | {self.info.get("portal-id")}
        crawls = {m.get("crawl_id") for m, _ in self.fetches} | {self.info.get("crawl-id")}
        portal, crawl = ", ".join(sorted(filter(None, portals))) or "?", ", ".join(sorted(filter(None, crawls))) or "?"
        return f"portal {portal} (crawl {crawl})"


@dataclass
class HttpRecord:
    """The headers of a `response` or `revisit` record of an http(s) URL (no payload)."""

    index: int  # 1-based position in the file
    offset: int  # byte offset of the record (of its gzip member) in the file
    kind: str  # response | revisit
    record_id: str | None
    uri: str
    date: datetime | None
    status: int | None  # None: a revisit without HTTP headers of its own
    content_type: str | None
    location: str | None
    payload_digest: str | None
    concurrent_to: str | None
    refers_to: str | None = None
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    truncated: str | None = None  # WARC-Truncated: length, time, disconnect, unspecified
    destination: str | None = None  # Sec-Fetch-Dest of its request record, when it has one
    headers: tuple[tuple[str, str], ...] = ()  # kept for a refusal (403, 429, 503) only: a bot wall's marks

    @property
    def subresource(self) -> bool:
        """What a page needs to be shown (image, style sheet, script, font, XHR), not a page."""
        if self.destination and self.destination.lower() not in _PAGE_DESTINATIONS:
            return True
        ctype = (self.content_type or "").lower()
        if ctype.startswith(_ASSET_TYPES) or "javascript" in ctype or "ecmascript" in ctype:
            return True
        return urlsplit(self.uri).path.lower().endswith(_ASSET_SUFFIXES)


@dataclass
class WebFetch:
    """A fetch by another tool: a response (or revisit) record and the redirects it led to in the file."""

    url: str
    date: datetime | None
    first: HttpRecord
    final: HttpRecord
    hops: list[str] = field(default_factory=list)
    error: str | None = None  # redirect_loop | too_many_redirects


@dataclass
class WarcScan:
    """What the first pass found: our crawls, other tools' HTTP records, and where each record is."""

    path: Path
    sha256: str
    size: int
    records: int
    crawls: list[OwnCrawl]
    http: list[HttpRecord]  # other tools' response and revisit records, in file order
    response_offsets: dict[str, tuple[int, str | None]]  # every response: record id -> (offset, HTTP Content-Type)
    skipped: dict[str, int]  # records passed over, by kind
    rendered_offsets: dict[str, int] = field(default_factory=dict)  # response record id -> its conversion record

    @property
    def ours(self) -> bool:
        return bool(self.crawls)

    def referent(self, rec: HttpRecord) -> HttpRecord | None:
        """The response a revisit record stands for, when it is in the file: by WARC-Refers-To, else by
        payload digest, else by WARC-Refers-To-Target-URI (and WARC-Refers-To-Date)."""
        if rec.kind != "revisit":
            return rec
        by_id, by_digest, by_uri = self._indexes
        if rec.refers_to and rec.refers_to in by_id:
            return by_id[rec.refers_to]
        if rec.payload_digest and rec.payload_digest.lower() in by_digest:
            return by_digest[rec.payload_digest.lower()]
        candidates = by_uri.get(rec.refers_to_uri or "", [])
        dated = [c for c in candidates if rec.refers_to_date and c.date and c.date == _parse_date(rec.refers_to_date)]
        return (dated or candidates or [None])[0]

    @cached_property
    def _indexes(self) -> tuple[dict, dict, dict]:
        by_id: dict[str, HttpRecord] = {}
        by_digest: dict[str, HttpRecord] = {}
        by_uri: dict[str, list[HttpRecord]] = {}
        for r in self.http:
            if r.kind == "response":
                if r.record_id:
                    by_id.setdefault(r.record_id, r)
                if r.payload_digest:
                    by_digest.setdefault(r.payload_digest.lower(), r)
                by_uri.setdefault(r.uri, []).append(r)
        return by_id, by_digest, by_uri

    def fetches(self, group: Callable[[HttpRecord], str | None]) -> dict[str, list[WebFetch]]:
        """Other tools' page fetches by group (portal): each response or revisit record that is not a
        subresource, with the redirects it led to folded in (a 3xx whose Location has a record in
        the file, of the same group, continues there; that record is then not a fetch of its own)."""
        pages = [r for r in self.http if not r.subresource]
        key = {id(r): group(r) for r in pages}
        by_url: dict[str, HttpRecord] = {}
        for r in pages:
            by_url.setdefault(r.uri, r)

        def next_hop(r: HttpRecord) -> tuple[str, HttpRecord | None] | None:
            status = self.status_of(r)[0]
            if status is None or not 300 <= status < 400 or not r.location:
                return None
            try:
                target = urldefrag(urljoin(r.uri, r.location.strip()))[0]
            except ValueError:
                return None
            found = by_url.get(target)
            return target, found if found is not None and key[id(found)] == key[id(r)] else None

        targets = set()
        for r in pages:
            hop = next_hop(r)
            if hop and hop[1] is not None and hop[1] is not r:
                targets.add(id(hop[1]))
        reached: set[int] = set()

        def follow(r: HttpRecord) -> WebFetch:
            fetch = WebFetch(url=r.uri, date=r.date, first=r, final=r)
            seen = {r.uri}
            reached.add(id(r))
            while (hop := next_hop(fetch.final)) is not None:
                target, found = hop
                fetch.hops.append(target)
                if target in seen:
                    fetch.error = "redirect_loop"
                    break
                if len(fetch.hops) > MAX_REDIRECTS:
                    fetch.error = "too_many_redirects"
                    break
                if found is None:
                    break  # the redirect's target is not in the file: the fetch ends at the 3xx
                seen.add(target)
                reached.add(id(found))
                fetch.final = found
            return fetch

        starts = [r for r in pages if key[id(r)] is not None and id(r) not in targets]
        chains = {id(r): follow(r) for r in starts}
        for r in pages:  # records only reachable from a redirect cycle start a fetch of their own
            if key[id(r)] is not None and id(r) not in reached:
                chains[id(r)] = follow(r)
        out: dict[str, list[WebFetch]] = {}
        for r in pages:  # in file order
            if id(r) in chains:
                out.setdefault(key[id(r)], []).append(chains[id(r)])
        return out

    def status_of(self, rec: HttpRecord) -> tuple[int | None, str | None]:
        """HTTP status and Content-Type of a record; a revisit's own headers, else its referent's (a 304
        `server-not-modified` revisit stands for the response it refers to)."""
        if rec.kind == "revisit":
            ref = self.referent(rec)
            if ref is not None and (rec.status is None or rec.status == 304):
                return ref.status, ref.content_type
        return rec.status, rec.content_type


class _Counting:
    """A file read once from start to end: counts and hashes what warcio reads (its `tell`)."""

    def __init__(self, f):
        self.f, self.pos, self.sha = f, 0, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.pos += len(data)
        self.sha.update(data)
        return data

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        pass


class _Iterator(WARCIterator):
    """warcio's WARC iterator (ARC files are not read), telling whether the last gzip member ended
    (a cut inside a member's end otherwise passes unnoticed)."""

    member_cut = False

    def close(self):
        reader = self.reader
        if reader is not None and reader.decompressor is not None and not reader.decompressor.eof:
            # a member that gave data but never ended; a few stray bytes after the last member do not count
            self.member_cut = reader.num_block_read > 0
        super().close()


_READ_ERRORS = (
    ArchiveLoadFailed,
    StatusAndHeadersParserException,
    ChunkedDataException,
    zlib.error,
    EOFError,
    UnicodeDecodeError,
)


def scan(path: Path) -> WarcScan:
    """First pass: every record's headers, our JSON records, offsets; a file cut mid-record, or
    not a WARC file at all, is a `WarcError`."""
    path = Path(path)
    size = os.path.getsize(path)
    crawls: list[OwnCrawl] = []
    current: OwnCrawl | None = None
    http: list[HttpRecord] = []
    responses: dict[str, tuple[int, str | None]] = {}
    rendered: dict[str, int] = {}
    destinations: dict[str, str] = {}  # record id (request, or the response it is concurrent to) -> Sec-Fetch-Dest
    skipped: dict[str, int] = {}
    index, start, declared = 0, 0, None
    at = (1, 0)  # the record being read: number, offset
    with open(path, "rb") as raw:
        f = _Counting(raw)
        it = _Iterator(f)
        try:
            for record in it:
                index, start = index + 1, it.offset
                at = (index, start)
                h = record.rec_headers
                kind, declared = record.rec_type, h.get_header("Content-Length")
                rid = h.get_header("WARC-Record-ID")
                if kind == "warcinfo":
                    fields = _warcinfo_fields(_read_small(record, index))
                    if current is not None:
                        current = None  # a crawl of ours that ends without its summary: incomplete
                    if fields.get("software", "").startswith(OUR_SOFTWARE) and "portal-id" in fields:
                        current = OwnCrawl(fields, first_record=index)
                        crawls.append(current)
                    else:
                        skipped["warcinfo"] = skipped.get("warcinfo", 0) + 1
                elif kind == "metadata" and h.get_header("Content-Type") in (FETCH_TYPE, SUMMARY_TYPE):
                    ours = h.get_header("Content-Type")
                    try:
                        obj = json.loads(_read_small(record, index))
                    except ValueError as e:
                        raise WarcError(
                            [(f"record {index} (byte {start}): its {ours} payload is not JSON ({e})", COMPLETE)]
                        ) from e
                    if current is None:  # our records without our warcinfo before them
                        current = OwnCrawl({}, first_record=index)
                        crawls.append(current)
                    if ours == FETCH_TYPE:
                        current.fetches.append((obj, h.get_header("WARC-Concurrent-To")))
                    else:
                        current.summary = obj
                elif kind in ("response", "revisit"):
                    headers = record.http_headers
                    ctype = headers.get_header("Content-Type") if headers else None
                    if kind == "response" and rid:
                        responses[rid] = (start, ctype)
                    uri = h.get_header("WARC-Target-URI") or ""  # warcio removes wget's <angle brackets>
                    if current is None and uri.lower().startswith(("http://", "https://")):
                        rec = _http_record(index, start, kind, rid, uri, h, headers)
                        if rec is not None:
                            http.append(rec)
                        else:
                            skipped[kind] = skipped.get(kind, 0) + 1
                    elif current is None:
                        skipped[kind] = skipped.get(kind, 0) + 1
                elif kind == "conversion" and current is not None and h.get_header("WARC-Refers-To"):
                    rendered[h.get_header("WARC-Refers-To")] = start
                elif kind == "request" and record.http_headers is not None:
                    dest = record.http_headers.get_header("Sec-Fetch-Dest")
                    if dest:
                        for key in (rid, h.get_header("WARC-Concurrent-To")):
                            if key:
                                destinations[key] = dest
                elif current is None:
                    skipped[kind] = skipped.get(kind, 0) + 1
                it.get_record_offset()  # read to the record's end, in blocks
                if getattr(record.raw_stream, "limit", 0) > 0:  # fewer bytes than its Content-Length
                    raise WarcError([(_cut(index, start, declared, size), COMPLETE if crawls else WHOLE)])
                if current is not None:
                    current.last_record, current.end_offset = index, it.offset
                    if current.complete:
                        current = None
                at = (index + 1, it.offset)
        except WarcError:
            raise
        except (*_READ_ERRORS, ValueError) as e:
            expected = COMPLETE if crawls else WHOLE
            if "non-chunked gzip" in str(e):
                found = "the file is gzipped whole, not record by record (`warcio recompress` rewrites it)"
                raise WarcError([(found, expected)]) from e
            if index and f.pos >= size:  # a record that could not be read to its end: the file ends in it
                raise WarcError([(f"{_cut(*at, None, size)}: {str(e).strip()[:120]}", expected)]) from e
            raise WarcError([(f"record {at[0]} (byte {at[1]}): {str(e).strip()[:200]}", expected)]) from e
        if it.member_cut:
            raise WarcError([(_cut(index, start, declared, size), COMPLETE if crawls else WHOLE)])
        while f.read(1 << 20):  # whatever warcio left unread after its last record (hashed, not parsed)
            pass
    if not index:
        raise WarcError([("no WARC records (an empty file)", WHOLE)])
    for r in http:
        r.destination = destinations.get(r.record_id or "") or destinations.get(r.concurrent_to or "")
    return WarcScan(path, f.sha.hexdigest(), size, index, crawls, http, responses, skipped, rendered)


def _cut(index: int, start: int, declared: str | None, size: int) -> str:
    length = f", declares {declared} bytes" if declared else ""
    return (
        f"the file was cut mid-record: it ends at byte {size} inside record {index} "
        f"(which starts at byte {start}{length})"
    )


def _read_small(record, index: int) -> bytes:
    data = record.content_stream().read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise WarcError([(f"record {index}: a {record.rec_type} record over {MAX_METADATA_BYTES} bytes", WHOLE)])
    return data


def _http_record(index, start, kind, rid, uri, h, headers) -> HttpRecord | None:
    status = None
    if headers is not None:
        try:
            status = int(headers.get_statuscode())
        except (TypeError, ValueError):
            return None  # not an HTTP response (a status line warcio could not read)
    elif kind == "response":
        return None
    return HttpRecord(
        index=index,
        offset=start,
        kind=kind,
        record_id=rid,
        uri=uri,
        date=_parse_date(h.get_header("WARC-Date")),
        status=status,
        content_type=headers.get_header("Content-Type") if headers is not None else None,
        location=headers.get_header("Location") if headers is not None else None,
        payload_digest=h.get_header("WARC-Payload-Digest"),
        concurrent_to=h.get_header("WARC-Concurrent-To"),
        refers_to=h.get_header("WARC-Refers-To"),
        refers_to_uri=_unbracket(h.get_header("WARC-Refers-To-Target-URI")),
        refers_to_date=h.get_header("WARC-Refers-To-Date"),
        truncated=h.get_header("WARC-Truncated"),
        headers=(
            tuple((k, v[:200]) for k, v in headers.headers[:40])
            if headers is not None and status in WALL_STATUSES
            else ()
        ),
    )


def _unbracket(uri: str | None) -> str | None:
    if uri and uri.startswith("<") and uri.endswith(">"):
        return uri[1:-1]
    return uri


def _parse_date(value: str | None) -> datetime | None:
    """WARC-Date (W3C-ISO8601: seconds in WARC 1.0, fractions allowed in 1.1), as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def truncation_error(rec: HttpRecord) -> str | None:
    """The crawl_pages error of a record its writer cut short (WARC-Truncated)."""
    if not rec.truncated:
        return None
    return _TRUNCATED.get(rec.truncated.strip().lower(), "too_large")


class Payloads:
    """Second pass: single records' payloads from their offsets, at most `limit` bytes each (after
    chunked transfer and content decoding). Use as a context manager."""

    def __init__(self, path: Path, limit: int | None = None):
        self.limit = limit or MAX_PAYLOAD_BYTES
        self._f = open(path, "rb")

    def __enter__(self) -> Payloads:
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()

    def at(self, offset: int) -> tuple[bytes, bool]:
        """The payload of the record at `offset`, and whether it was cut at the limit."""
        self._f.seek(offset)
        try:
            record = next(iter(WARCIterator(self._f)))
            data = record.content_stream().read(self.limit + 1)
        except (*_READ_ERRORS, StopIteration) as e:
            raise WarcError([(f"the record at byte {offset} cannot be read again: {e}", WHOLE)]) from e
        if len(data) > self.limit:
            return data[: self.limit], True
        return data, False

    def response(self, scan: WarcScan, record_id: str | None) -> tuple[bytes | None, str | None, bool]:
        """Payload, HTTP Content-Type and truncation of one of our response records, by its id."""
        if not record_id or record_id not in scan.response_offsets:
            return None, None, False
        offset, ctype = scan.response_offsets[record_id]
        body, cut = self.at(offset)
        return body, ctype, cut

    def rendered(self, scan: WarcScan, response_id: str | None) -> bytes | None:
        """The rendered DOM archived for one of our responses, if the page was rendered."""
        if not response_id or response_id not in scan.rendered_offsets:
            return None
        return self.at(scan.rendered_offsets[response_id])[0]

    def http(self, scan: WarcScan, rec: HttpRecord) -> tuple[bytes | None, bool]:
        """Payload of another tool's record; a revisit's is its referent's (None when not in the file)."""
        source = scan.referent(rec)
        if source is None:
            return None, False
        return self.at(source.offset)


def read(path: Path) -> PortalArchive:
    """One crawl of ours, payloads included (the first crawl in the file); for people and tests.
    Loading does not use it: `portal_index.parse.portal_signals.extract_warc` reads payloads one at a time."""
    found = scan(path)
    crawl = found.crawls[0] if found.crawls else OwnCrawl({})
    fetches = []
    with Payloads(path) as payloads:
        for meta, rid in crawl.fetches:
            body, ctype, _ = payloads.response(found, rid)
            fetches.append(Fetch(meta, body, ctype))
    return PortalArchive(crawl.info, fetches, crawl.summary or {})


def _warcinfo_fields(payload: bytes) -> dict:
    out = {}
    for line in payload.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out
