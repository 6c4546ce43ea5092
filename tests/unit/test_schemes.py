"""Only http and https are requested (`portal_index.fetch.netguard.check_scheme`): its shortcut for a URL
that starts with either answers what httpx's own parse of the scheme does."""

import httpx
import pytest

from portal_index.fetch.netguard import check_scheme

URLS = [
    "http://a/",
    "HTTPS://b/x?y",
    "hTtP://c",
    "http:/x",  # no authority: httpx still reads http
    "https:x",
    "ftp://x/",
    "javascript:alert(1)",
    "mailto:a@b",
    "data:,x",
    "//host/path",
    "/relative",
    "httpx://a/",
    "http+unix://a/",
    " http://a/",
]


@pytest.mark.parametrize("url", URLS)
def test_the_scheme_check_answers_as_httpx_reads_the_url(url):
    scheme = httpx.URL(url).scheme
    assert (check_scheme(url) is None) == (scheme in ("http", "https")), scheme
    assert check_scheme(httpx.URL(url)) == check_scheme(url)


def test_a_malformed_url_with_an_allowed_scheme_is_refused_when_its_request_is_built():
    assert check_scheme("http://[::1/") is None  # not parsed here
    with pytest.raises(httpx.InvalidURL):
        httpx.Request("GET", "http://[::1/")
