"""Reading WARC files (ISO 28500) with warcio: the portal WARC files our crawler writes
(`portal_index.fetch.warc_writer`), or any WARC with our metadata records.

Our file holds everything needed to re-derive the crawl's rows without the network:
- a `warcinfo` record: software, crawl id, portal, base URL, user-agent, limits;
- per HTTP exchange (each redirect hop included) a `request` and a `response` record;
- per logical fetch a `metadata` record (JSON, `application/vnd.portal-index.fetch+json`) that
  refers to its final response with `WARC-Concurrent-To`: role (robots, page, sitemap, search),
  depth, status, error, attempts, redirect chain, timings. Fetches that got no response (timeouts,
  refused connections, URLs disallowed by robots.txt) have only this record;
- a last `metadata` record summarising the portal's crawl (why it stopped, counts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

FETCH_TYPE = "application/vnd.portal-index.fetch+json"
SUMMARY_TYPE = "application/vnd.portal-index.summary+json"


@dataclass
class Fetch:
    """A logical fetch read back from a WARC: its metadata and, if any, its final response."""

    meta: dict
    body: bytes | None
    content_type: str | None


@dataclass
class PortalArchive:
    info: dict
    fetches: list[Fetch]
    summary: dict


def read(path: Path) -> PortalArchive:
    """Read a portal WARC written by `PortalWarc` (or any WARC with our metadata records)."""
    info: dict = {}
    summary: dict = {}
    fetches: list[Fetch] = []
    responses: dict[str, tuple[bytes, str | None]] = {}
    with open(path, "rb") as f:
        for record in ArchiveIterator(f):
            kind = record.rec_type
            if kind == "warcinfo":
                info = _warcinfo_fields(record.content_stream().read())
            elif kind == "response":
                rid = record.rec_headers.get_header("WARC-Record-ID")
                ctype = record.http_headers.get_header("Content-Type") if record.http_headers else None
                responses[rid] = (record.content_stream().read(), ctype)
            elif kind == "metadata":
                ctype = record.rec_headers.get_header("Content-Type")
                obj = json.loads(record.content_stream().read())
                if ctype == SUMMARY_TYPE:
                    summary = obj
                elif ctype == FETCH_TYPE:
                    body, rtype = responses.pop(record.rec_headers.get_header("WARC-Concurrent-To"), (None, None))
                    fetches.append(Fetch(obj, body, rtype))
            # request records and redirect hops' responses are kept in the file for people, not rows
    return PortalArchive(info, fetches, summary)


def _warcinfo_fields(payload: bytes) -> dict:
    out = {}
    for line in payload.decode("utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def iter_warcs(folder: Path) -> Iterator[Path]:
    yield from sorted(folder.glob("*.warc.gz"))
