"""`needs_render`: app shells (content built by JavaScript) told apart from pages whose HTML holds their content."""

from __future__ import annotations

import pytest

from portal_index.parse.app_shell import load_rules, needs_render

VUE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng dịch vụ công</title>
<link href="/css/app.css" rel="stylesheet"><script defer src="/js/chunk-vendors.js"></script>
<script defer src="/js/app.js"></script></head>
<body><noscript><strong>We're sorry but this app doesn't work properly without JavaScript enabled.
Please enable it to continue.</strong></noscript><div id="app"></div></body></html>"""

REACT = """<!doctype html><html><head><title>DVC</title></head><body>
<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
<script src="/static/js/main.3f2a.js"></script></body></html>"""

ANGULAR = """<!doctype html><html lang="vi"><head><base href="/"><title>Dịch vụ công</title></head>
<body><app-root><div class="loading">Đang tải...</div></app-root>
<script src="runtime.js" type="module"></script><script src="polyfills.js" type="module"></script>
<script src="main.js" type="module"></script></body></html>"""

NEXT = """<html><body><div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{}}</script>
<script src="/_next/static/chunks/main.js" defer></script></body></html>"""

# a noscript in Vietnamese, no app root id
NOSCRIPT_ONLY = """<html><body><noscript>Vui lòng BẬT JavaScript để sử dụng Cổng.</noscript>
<div class="wrapper"></div><script>window.boot()</script></body></html>"""

PROCEDURES = " ".join(f"<li><a href='/thu-tuc/{i}'>Thủ tục cấp giấy phép xây dựng số {i}</a></li>" for i in range(12))
SERVER_RENDERED = f"""<!doctype html><html lang="vi"><head><title>Cổng thông tin điện tử tỉnh</title>
<script src="/js/jquery.js"></script><script src="/js/menu.js"></script><script>gtag('config','G-1');</script>
</head><body><div id="app"><header><nav><a href="/">Trang chủ</a> <a href="/gop-y">Góp ý</a></nav></header>
<main><h1>Thủ tục hành chính</h1><ul>{PROCEDURES}</ul></main></div>
<noscript>Trình duyệt của bạn đã tắt JavaScript: một số chức năng sẽ không hoạt động.</noscript></body></html>"""

EMPTY_ERROR = """<html><head><title>502 Bad Gateway</title></head><body><div id="app"></div>
<noscript>Enable JavaScript</noscript></body></html>"""


@pytest.mark.parametrize(
    "html, marks, scripts",
    [
        (VUE, ("app root #app", "noscript asks for JavaScript"), "2 scripts"),
        (REACT, ("app root #root", "noscript asks for JavaScript"), "1 script"),
        (ANGULAR, ("app root <app-root>",), "3 scripts"),
        (NEXT, ("app root #__next",), "1 script"),  # the JSON data block is no script
        (NOSCRIPT_ONLY, ("noscript asks for JavaScript",), "1 script"),
        (
            "<html ng-app='dvc'><body><p>{{ title }}</p><script src='angular.js'></script></body></html>",
            ("[ng-app]",),
            "",
        ),
        ("<div id='q-app'></div><script src='app.js'></script>", ("#q-app",), ""),
    ],
    ids=["vue", "react", "angular", "next", "noscript-vi", "angularjs", "quasar"],
)
def test_app_shells_need_rendering(html, marks, scripts):
    reason = needs_render(html)
    assert reason is not None
    for mark in marks:
        assert mark in reason, reason
    assert "characters of visible text" in reason and reason.endswith(scripts)


def test_the_reason_counts_visible_text_and_scripts():
    assert needs_render(ANGULAR) == "app root <app-root>, 11 characters of visible text, 3 scripts"  # "Đang tải..."


@pytest.mark.parametrize(
    "html",
    [
        SERVER_RENDERED,  # an #app and a noscript, but the text is there
        EMPTY_ERROR,  # nothing to render: no script
        "<html><body><h1>Không tìm thấy trang</h1></body></html>",
        "<html><body><div id='app'></div><script type='application/ld+json'>{}</script></body></html>",
        "<html><body><div id='app'></div><script></script></body></html>",  # an empty inline script
        "<html><body><p>hi</p><script src='analytics.js'></script></body></html>",  # no app root, no noscript
        "",
    ],
    ids=["server-rendered", "error-page", "no-scripts", "data-block", "empty-script", "no-root", "empty"],
)
def test_pages_holding_their_content_or_without_scripts_do_not(html):
    assert needs_render(html) is None


def test_hidden_text_does_not_count_as_visible():
    hidden = "x" * 1000
    html = (
        f"<html><head><style>.a{{content:'{hidden}'}}</style></head><body><div id='root'></div>"
        f"<template><p>{hidden}</p></template><noscript>{hidden}</noscript>"
        f"<script>var s='{hidden}'</script></body></html>"
    )
    assert needs_render(html) == "app root #root, 0 characters of visible text, 1 script"


def test_the_text_threshold_is_data():
    rules = load_rules()
    limit = rules.visible_text_limit
    assert limit == 200 and "app" in rules.app_root_ids
    shell = "<div id='app'><p>{}</p></div><script src='a.js'></script>"
    assert needs_render(shell.format("a" * (limit - 1))) is not None
    assert needs_render(shell.format("a" * limit)) is None
