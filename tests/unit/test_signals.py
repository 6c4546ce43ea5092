"""Keyword and structural signals on crafted pages: with and without diacritics, NFC or NFD, any case."""

import unicodedata

import pytest

from portal_index.core.text import to_windows_1258
from portal_index.parse.page_signals import load_keywords, page_facts, search_returned_results

KW = load_keywords()


def facts(body: str, head: str = "", lang: str = ""):
    return page_facts(f"<html{lang}><head>{head}</head><body>{body}</body></html>", "http://x/p/", KW)


@pytest.mark.parametrize("text", ["Góp ý", "GÓP Ý", "Gop y", "gop  y", unicodedata.normalize("NFD", "Góp ý")])
def test_feedback_keyword_in_every_form(text):
    assert facts(f"<a href='/p/f'>{text}</a>").found["feedback"]


def test_a_keyword_inside_another_word_does_not_count():
    assert "feedback" not in facts("<p>gop your ideas</p>").found


def test_each_art4_category_and_none_on_an_empty_page():
    page = facts("<p>Văn bản pháp luật. Thủ tục hành chính. Số liệu thống kê.</p>")
    assert {"art4.legal_documents", "art4.procedures", "art4.statistics"} <= set(page.found)
    assert not any(k.startswith("art4.") for k in facts("<p>Tin tức</p>").found)


def test_contacts_phone_and_email_by_pattern():
    page = facts("<footer>Địa chỉ: 1 Trần Phú. Điện thoại: 024 3825 1234. Email: vp@hanoi.gov.vn</footer>")
    assert {"contact.address", "contact.phone", "contact.email"} <= set(page.found)
    assert "contact.phone" not in facts("<p>Điện thoại: chưa có</p>").found


def test_accessibility_checks_pass_and_fail():
    good = facts(
        "<h1>T</h1><img src=a alt=''><label for=q>Tìm</label><input id=q name=q>",
        head="<meta name=viewport content='width=device-width'>",
        lang=" lang='vi'",
    )
    assert good.checks == {
        "a11y.lang": 1.0,
        "a11y.img_alt": 1.0,
        "a11y.form_labels": 1.0,
        "a11y.headings": 1.0,
        "mobile_viewport": 1.0,
    }
    bad = facts("<div>T</div><img src=a><input name=q>")
    assert bad.checks == {
        "a11y.lang": 0.0,
        "a11y.img_alt": 0.0,
        "a11y.form_labels": 0.0,
        "a11y.headings": 0.0,
        "mobile_viewport": 0.0,
    }


def test_search_form_dates_and_results():
    page = facts("<form action='/p/tim'><input name='keyword'></form><span>05/11/2026</span><span>31/02/2026</span>")
    assert page.search_form == ("http://x/p/tim", "keyword")
    assert [d.isoformat() for d in page.dates] == ["2026-11-05"]
    assert search_returned_results("<ul><li>Kết quả cho thủ tục</li></ul>", KW)
    assert not search_returned_results("<p>Không có kết quả cho thủ tục</p>", KW)


def test_evidence_is_the_pages_own_words():
    page = facts("<ul><li><a href='/p/gy'>GỬI GÓP Ý CHO CỔNG</a></li></ul><footer>Điện thoại: 024 3825 1234</footer>")
    assert page.found["feedback"] == "GỬI GÓP Ý CHO CỔNG"
    assert page.found["contact.phone"] == "Điện thoại: 024 3825 1234"


VI = "Góp ý, phản ánh kiến nghị"


@pytest.mark.parametrize(
    "body, content_type",
    [
        (to_windows_1258(f"<html><head><meta charset='windows-1258'></head><body>{VI}</body></html>"), "text/html"),
        (to_windows_1258(f"<html><body>{VI}</body></html>"), "text/html; charset=windows-1258"),
        (to_windows_1258(f"<html><body>{VI}</body></html>"), "text/html"),  # undeclared legacy page
        (b"\xef\xbb\xbf" + f"<html><body>{VI}</body></html>".encode(), "text/html; charset=iso-8859-1"),  # BOM wins
        (f"<html><body>{VI}</body></html>".encode("utf-16"), None),
        (unicodedata.normalize("NFD", f"<html><body>{VI}</body></html>").encode(), "text/html; charset=utf-8"),
    ],
)
def test_encodings_are_detected(body, content_type):
    from portal_index.parse.page_signals import decode

    text = decode(body, content_type)
    assert unicodedata.normalize("NFC", text).count(VI) == 1
    assert page_facts(text, "http://x/p/", KW).found["feedback"]


def test_undecodable_bytes_never_crash():
    from portal_index.parse.page_signals import decode

    assert decode(b"\xfa\xff\x00 abc", "text/html; charset=utf-8").endswith("abc")
    assert decode(b"\x81\x8a abc", "text/html; charset=no-such-charset").endswith("abc")
    assert decode(to_windows_1258("Góp ý")[:-1] + b"\xff", None)


@pytest.mark.parametrize(
    "content_type, body, expected",
    [
        ("text/html", b"<!doctype html><p>x", True),
        ("application/octet-stream", b"\n  <!DOCTYPE html><html>", True),  # HTML with a wrong type
        ("text/html", b"\x89PNG\r\n\x1a\n\x00\x00", False),  # an image with a wrong type
        ("image/png", b"<html><body>x", False),
        ("text/plain", b"plain words", False),
    ],
)
def test_html_is_recognised_by_type_and_by_its_first_bytes(content_type, body, expected):
    from portal_index.parse.page_signals import looks_html

    assert looks_html(content_type, body) is expected
