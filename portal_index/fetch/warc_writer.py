"""Writing one WARC file per portal per crawl (ISO 28500, with warcio); the record layout is
described in `portal_index.parse.warc`, which reads it back.

Response payloads are stored as the crawler read them: after content decoding and cut at the
byte limit. The recorded `Content-Encoding` header is renamed `X-Original-Content-Encoding` and
`Content-Length` set to the stored length, so a WARC reader does not decode twice.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from portal_index.parse.warc import FETCH_TYPE, SUMMARY_TYPE

_DROP = {"content-encoding", "content-length", "transfer-encoding"}


@dataclass
class Exchange:
    """One HTTP request and the response as the crawler read it."""

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
        self._writer = WARCWriter(self._file, gzip=True)
        self._writer.write_record(self._writer.create_warcinfo_record(path.name, info))

    def exchange(self, ex: Exchange) -> str:
        """Write a request/response pair; returns the response's WARC-Record-ID."""
        req = StatusAndHeaders(f"GET {_path_of(ex.url)} HTTP/1.1", ex.request_headers, is_http_request=True)
        self._writer.write_record(self._writer.create_warc_record(ex.url, "request", http_headers=req))
        headers = [
            (f"X-Original-{k}" if k.lower() == "content-encoding" else k, v)
            for k, v in ex.headers
            if k.lower() not in _DROP - {"content-encoding"}
        ]
        headers.append(("Content-Length", str(len(ex.body))))
        http = StatusAndHeaders(f"{ex.status} {ex.reason}".strip(), headers, protocol=ex.http_version)
        record = self._writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), http_headers=http)
        self._writer.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def rendered(self, url: str, response_id: str, html: str) -> None:
        """The DOM a browser rendered from a response: a `conversion` record that refers to it."""
        record = self._writer.create_warc_record(
            url,
            "conversion",
            payload=io.BytesIO(html.encode("utf-8")),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Refers-To": response_id},
        )
        self._writer.write_record(record)

    def fetch(self, meta: dict, response_id: str | None) -> None:
        self._metadata(meta["url"], FETCH_TYPE, meta, response_id)

    def summary(self, base_url: str, summary: dict) -> None:
        self._metadata(base_url, SUMMARY_TYPE, summary, None)

    def _metadata(self, url: str, content_type: str, obj: dict, concurrent_to: str | None) -> None:
        headers = {"WARC-Concurrent-To": concurrent_to} if concurrent_to else {}
        payload = json.dumps(obj, ensure_ascii=False, default=str).encode()
        self._writer.write_record(
            self._writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(payload), warc_content_type=content_type, warc_headers_dict=headers
            )
        )

    def close(self) -> None:
        self._file.close()


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
