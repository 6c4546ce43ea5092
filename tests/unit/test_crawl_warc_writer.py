"""The crawler's WARC records are warcio's records: same fields, same order, same bytes inside."""

import gzip
import io
import json
import re
import zlib

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from portal_index.fetch.warc_writer import Exchange, PortalWarc, _path_of
from portal_index.parse.warc import FETCH_TYPE, SUMMARY_TYPE

REQUEST = [("host", "x.gov.vn"), ("user-agent", "portal-index/0"), ("accept-encoding", "gzip, deflate")]
EXCHANGES = [
    Exchange("https://x.gov.vn/", REQUEST, 200, "OK", "HTTP/1.1", [("content-type", "text/html")], b"<p>Gop y</p>"),
    Exchange(
        "https://x.gov.vn/tin?q=th%E1%BB%A7",
        REQUEST,
        200,
        "",  # no reason phrase
        "HTTP/1.1",
        [("content-type", "text/html; charset=utf-8"), ("content-encoding", "gzip"), ("content-length", "9")],
        "Góp ý — thủ tục".encode() * 5000,  # larger than a deflate window
    ),
    Exchange(
        "https://x.gov.vn/cu",
        REQUEST,
        301,
        "Moved Permanently",
        "HTTP/1.1",
        [("location", "/mới"), ("set-cookie", "a=b; path=/"), ("x-note", "thủ tục")],  # not ASCII
        b"",
    ),
]


class WarcioPortalWarc:
    """How the records were written with warcio's record builder: the reference."""

    def __init__(self, out):
        self.w = WARCWriter(out, gzip=True)

    def exchange(self, ex: Exchange) -> str:
        req = StatusAndHeaders(f"GET {_path_of(ex.url)} HTTP/1.1", ex.request_headers, is_http_request=True)
        self.w.write_record(self.w.create_warc_record(ex.url, "request", http_headers=req))
        drop = {"content-length", "transfer-encoding"}
        headers = [
            (f"X-Original-{k}" if k.lower() == "content-encoding" else k, v)
            for k, v in ex.headers
            if k.lower() not in drop
        ]
        headers.append(("Content-Length", str(len(ex.body))))
        http = StatusAndHeaders(f"{ex.status} {ex.reason}".strip(), headers, protocol=ex.http_version)
        record = self.w.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), http_headers=http)
        self.w.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def rendered(self, url: str, response_id: str, html: str) -> None:
        record = self.w.create_warc_record(
            url,
            "conversion",
            payload=io.BytesIO(html.encode("utf-8")),
            warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Refers-To": response_id},
        )
        self.w.write_record(record)

    def metadata(self, url: str, content_type: str, obj: dict, concurrent_to: str | None) -> None:
        headers = {"WARC-Concurrent-To": concurrent_to} if concurrent_to else {}
        payload = json.dumps(obj, ensure_ascii=False, default=str).encode()
        self.w.write_record(
            self.w.create_warc_record(
                url, "metadata", payload=io.BytesIO(payload), warc_content_type=content_type, warc_headers_dict=headers
            )
        )


def records(data: bytes) -> list[tuple]:
    """Each record's fields (ids and dates made neutral) and its whole block, as warcio reads them."""
    out = []
    for record in ArchiveIterator(io.BytesIO(data)):
        fields = [
            (k, re.sub(r"<urn:uuid:[^>]+>", "<id>", v) if k != "WARC-Date" else "<date>")
            for k, v in record.rec_headers.headers
        ]
        http = record.http_headers.to_bytes() if record.http_headers else b""
        out.append((fields, http, record.raw_stream.read()))
    return out


def write_both(tmp_path):
    ours = PortalWarc(tmp_path / "ours.warc.gz", {"software": "portal-index"})
    ours.close()
    header = (tmp_path / "ours.warc.gz").read_bytes()  # the warcinfo record, warcio's in both
    ours = PortalWarc(tmp_path / "ours.warc.gz", {"software": "portal-index"})
    reference = io.BytesIO()
    theirs = WarcioPortalWarc(reference)
    meta = {"url": "https://x.gov.vn/", "role": "page", "detail": "Trang chủ", "status": 200}
    for ex in EXCHANGES:
        ours.fetch({**meta, "url": ex.url}, ours.exchange(ex))
        theirs.metadata(ex.url, FETCH_TYPE, {**meta, "url": ex.url}, theirs.exchange(ex))
    ours.rendered("https://x.gov.vn/", "<urn:uuid:1>", "<html>Dịch vụ</html>")
    theirs.rendered("https://x.gov.vn/", "<urn:uuid:1>", "<html>Dịch vụ</html>")
    ours.summary("https://x.gov.vn/", {"stopped": "complete"})
    theirs.metadata("https://x.gov.vn/", SUMMARY_TYPE, {"stopped": "complete"}, None)
    ours.close()
    return (tmp_path / "ours.warc.gz").read_bytes(), header + reference.getvalue()


def test_records_are_those_warcio_writes(tmp_path):
    ours, reference = write_both(tmp_path)
    got, expected = records(ours), records(reference)
    assert len(got) == 1 + 3 * len(EXCHANGES) + 2
    assert got == expected


def test_each_record_is_its_own_gzip_member_and_the_file_is_plain_gzip(tmp_path):
    ours, reference = write_both(tmp_path)
    assert gzip.decompress(ours).count(b"WARC/1.0\r\n") == gzip.decompress(reference).count(b"WARC/1.0\r\n") == 12
    members, rest = 0, ours
    while rest:
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        z.decompress(rest)
        rest, members = z.unused_data, members + 1
    assert members == 12
    assert len(ours) < len(reference) * 1.05  # windows sized to the record: no larger a file
