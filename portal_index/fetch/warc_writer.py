"""Writing one WARC file per portal per crawl (ISO 28500); the record layout is described in
`portal_index.parse.warc`, which reads it back.

Response payloads are stored as the crawler read them: after content decoding and cut at the
byte limit. The recorded `Content-Encoding` header is renamed `X-Original-Content-Encoding` and
`Content-Length` set to the stored length, so a WARC reader does not decode twice.

The records a crawl writes for every fetch (request, response, fetch metadata, rendered DOM) are
serialised here, field for field as warcio writes them (`WARC/1.0`, the same headers in the same
order, SHA-1 digests in base32, HTTP headers as ASCII, percent-encoded where they are not), one
gzip member per record. warcio's general record builder (spooled payloads, header objects, a
compressor allocating 256 KiB of tables for every record) was the largest share of the crawler's
CPU per page; the bytes inside each record are the same. Each member's compression window is
sized to its record, which costs nothing in size (deflate never looks further back than the
record) and most of the time of compressing a small record. The warcinfo record, one per file,
is warcio's.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
import zlib
from base64 import b32encode
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from portal_index.parse.warc import FETCH_TYPE, SUMMARY_TYPE

_DROP = {"content-encoding", "content-length", "transfer-encoding"}
_EMPTY_DIGEST = "sha1:" + b32encode(hashlib.sha1(b"").digest()).decode("ascii")


@dataclass
class Exchange:
    """One HTTP request and the response as the crawler read it (header names in lower case, a
    repeated header's values joined, as httpx gave them: `portal_index.fetch.http_client`)."""

    url: str
    request_headers: list[tuple[str, str]]
    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes


class PortalWarc:
    """Appends records to `<path>` (gzip per record, as is usual for WARC)."""

    def __init__(self, path: Path, info: dict):
        self.path = path
        self._file = open(path, "wb")
        writer = WARCWriter(self._file, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, info))
        self._date_second, self._date = -1, ""

    def exchange(self, ex: Exchange) -> str:
        """Write a request/response pair; returns the response's WARC-Record-ID."""
        request = _http_block(f"GET {_path_of(ex.url)} HTTP/1.1", ex.request_headers)
        self._write("request", ex.url, (), "application/http; msgtype=request", request, b"")
        headers = [
            (f"X-Original-{k}" if k.lower() == "content-encoding" else k, v)
            for k, v in ex.headers
            if k.lower() not in _DROP - {"content-encoding"}
        ]
        headers.append(("Content-Length", str(len(ex.body))))
        response = _http_block(f"{ex.http_version} {f'{ex.status} {ex.reason}'.strip()}", headers)
        return self._write("response", ex.url, (), "application/http; msgtype=response", response, ex.body)

    def rendered(self, url: str, response_id: str, html: str) -> None:
        """The DOM a browser rendered from a response: a `conversion` record that refers to it."""
        refers = (("WARC-Refers-To", response_id),)
        self._write("conversion", url, refers, "text/html; charset=utf-8", b"", html.encode("utf-8"))

    def fetch(self, meta: dict, response_id: str | None) -> None:
        self._metadata(meta["url"], FETCH_TYPE, meta, response_id)

    def summary(self, base_url: str, summary: dict) -> None:
        self._metadata(base_url, SUMMARY_TYPE, summary, None)

    def _metadata(self, url: str, content_type: str, obj: dict, concurrent_to: str | None) -> None:
        headers = (("WARC-Concurrent-To", concurrent_to),) if concurrent_to else ()
        payload = json.dumps(obj, ensure_ascii=False, default=str).encode()
        self._write("metadata", url, headers, content_type, b"", payload)

    def _write(self, kind: str, url: str, first: tuple, content_type: str, http: bytes, payload: bytes) -> str:
        """One record, its fields in warcio's order: those given, then type, id, target, date,
        digests (payload, then block: the HTTP headers and the payload), type and length."""
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        payload_digest = _digest(payload) if payload else _EMPTY_DIGEST
        block_digest = _digest(http + payload) if http else payload_digest
        fields = [
            *first,
            ("WARC-Type", kind),
            ("WARC-Record-ID", record_id),
            ("WARC-Target-URI", url),
            ("WARC-Date", self._now()),
            ("WARC-Payload-Digest", payload_digest),
            ("WARC-Block-Digest", block_digest),
            ("Content-Type", content_type),
            ("Content-Length", str(len(http) + len(payload))),
        ]
        head = ("WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode("utf-8")
        size = len(head) + len(http) + len(payload) + 4
        bits = min(15, max(9, (size - 1).bit_length()))  # a window that holds the whole record
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + bits, min(8, max(1, bits - 6)))
        self._file.write(z.compress(head) + z.compress(http) + z.compress(payload) + z.compress(b"\r\n\r\n"))
        self._file.write(z.flush())
        return record_id

    def _now(self) -> str:
        """WARC-Date to the second (warcio's form for WARC/1.0), formatted once a second."""
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            self._date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        return self._date

    def close(self) -> None:
        self._file.close()


def _digest(data: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _http_block(status_line: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP message's status line and headers as warcio stores them: ASCII, a header value
    that is not ASCII percent-encoded (RFC 8187)."""
    text = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        protocol, rest = status_line.split(" ", 1)
        return StatusAndHeaders(rest, list(headers), protocol=protocol).to_ascii_bytes()


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
