"""Bot-wall pages for the portal simulator, written the way real vendors serve them (abbreviated).

Real portals put anti-DDoS services, WAFs and captchas in front of their pages, and a crawler must
record such an answer as `blocked` and never read it as the portal's content
(`portal_index.parse.bot_walls`). The simulator answers with one of these for a walled portal.

The JavaScript challenge is the only one a client can pass: its script sets `CHALLENGE_COOKIE` and
reloads, and the simulator lets a request carrying that cookie through, as a real challenge lets through a
browser that ran it. Everything here is a fixed function of the kind, so tests can compare answers byte
for byte.
"""

from __future__ import annotations

WALL_KINDS = ("js_challenge", "waf_403", "waf_429", "waf_503", "captcha")
CHALLENGE_COOKIE = "__sim_challenge"  # the cookie the JS challenge sets; a request carrying it passes

_HTML = ("content-type", "text/html; charset=UTF-8")
_NO_STORE = ("cache-control", "private, max-age=0, no-store, no-cache, must-revalidate")
_RAY = "8f3a2b1c0d9e7f65-HAN"  # a Cloudflare Ray ID; HAN is the Hanoi data centre

# Cloudflare's managed challenge ("Just a moment..."), in Vietnamese where Cloudflare localises it; the
# script is reduced to what the simulator needs: set the pass cookie, reload.
_JS_CHALLENGE = f"""<!DOCTYPE html><html lang="vi"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow">
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>*{{box-sizing:border-box;margin:0;padding:0}}html{{line-height:1.15}}body{{font-family:system-ui}}</style>
</head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">Cổng thông tin điện tử</h1>
<h2 class="h2" id="challenge-running">Đang xác minh bạn là con người. Việc này có thể mất vài giây.</h2>
<noscript><div id="challenge-error-title"><div class="h2"><span id="challenge-error-text">
Vui lòng bật JavaScript và cookie để tiếp tục</span></div></div></noscript>
<div id="challenge-body-text" class="core-msg spacer">Trang web cần kiểm tra tính bảo mật của kết nối
trước khi tiếp tục.</div></div></div>
<script>(function(){{window._cf_chl_opt={{cvId:'3',cZone:location.hostname,cType:'managed',cRay:'{_RAY[:16]}'}};
setTimeout(function(){{document.cookie = "{CHALLENGE_COOKIE}=ok; path=/";location.reload();}}, 50);}}());</script>
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="text-center">Ray ID:
<code>{_RAY[:16]}</code></div><div class="text-center">Performance &amp; security by Cloudflare</div></div></div>
</body></html>
"""

# F5 BIG-IP ASM's default blocking page, with the operator's Vietnamese line above it
_WAF_403 = """<html><head><title>Request Rejected</title></head><body>
Yêu cầu của bạn đã bị từ chối. Vui lòng liên hệ quản trị hệ thống.<br><br>
The requested URL was rejected. Please consult with your administrator.<br><br>
Your support ID is: 14512903745061232768<br><br>
<a href='javascript:history.back();'>[Go Back]</a></body></html>
"""

# Cloudflare's 1015 (rate limited) page
_WAF_429 = f"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head><title>Access denied | portal.example.gov.vn used Cloudflare to restrict access</title>
<meta charset="UTF-8" /><meta name="robots" content="noindex, nofollow" />
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css" /></head>
<body><div id="cf-wrapper"><div id="cf-error-details" class="p-0">
<header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-15 antialiased">
<h1 class="inline-block md:block mr-2 md:mb-2 font-light text-60 md:text-3xl text-black-dark leading-tight">
<span data-translate="error">Error</span><span>1015</span></h1>
<h2 class="text-gray-600 leading-1.3 text-3xl lg:text-2xl font-light" data-translate="error_desc">
You are being rate limited</h2></header>
<section class="w-240 lg:w-full mx-auto mb-8 lg:px-8"><div id="what-happened-section" class="w-1/2 md:w-full">
<h2 class="text-3xl leading-tight font-normal mb-4 text-black-dark antialiased" data-translate="what_happened">
What happened?</h2>
<p>The owner of this website (portal.example.gov.vn) has banned you temporarily from accessing this website.</p>
</div></section>
<div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left">
<p class="text-13"><span class="cf-footer-item sm:block sm:mb-1">Cloudflare Ray ID:
<strong class="font-semibold">{_RAY[:16]}</strong></span>
<span class="cf-footer-item sm:block sm:mb-1"><span>Performance &amp; security by</span>
<a rel="noopener noreferrer" href="https://www.cloudflare.com/5xx-error-landing" id="brand_link"
target="_blank">Cloudflare</a></span></p></div></div></div></body></html>
"""

# Imperva (Incapsula): an iframe onto its resource, the incident ID as fallback text
_WAF_503 = """<html style="height:100%"><head><META NAME="ROBOTS" CONTENT="NOINDEX, NOFOLLOW">
<meta name="format-detection" content="telephone=no"><meta name="viewport" content="initial-scale=1.0">
<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1"></head>
<body style="margin:0px;height:100%"><iframe id="main-iframe"
src="/_Incapsula_Resource?CWUDNSAI=23&xinfo=5-12345678-0%200NNN%20RT%281720000000000%2034%29&incident_id=1234000560012345678-123456789012345678&edet=15&cinfo=04000000&rpinfo=0&mth=GET"
frameborder=0 width="100%" height="100%" marginheight="0px" marginwidth="0px">Request unsuccessful.
Incapsula incident ID: 1234000560012345678-123456789012345678</iframe></body></html>
"""

# a reCAPTCHA gate before the portal, as Vietnamese anti-DDoS front ends put it
_CAPTCHA = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow">
<title>Xác minh truy cập</title>
<script src="https://www.google.com/recaptcha/api.js?hl=vi" async defer></script></head>
<body><main class="verify"><h1>Xác minh bạn không phải là người máy</h1>
<p>Hệ thống phát hiện lưu lượng truy cập bất thường từ mạng của bạn. Vui lòng xác nhận để tiếp tục.</p>
<form method="post" action="/__verify"><input type="hidden" name="return" value="/">
<div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div>
<button type="submit">Tiếp tục</button></form></main></body></html>
"""

_WALLS: dict[str, tuple[int, list[tuple[str, str]], str]] = {
    "js_challenge": (200, [_HTML, _NO_STORE, ("server", "cloudflare"), ("cf-ray", _RAY)], _JS_CHALLENGE),
    "waf_403": (403, [_HTML, ("cache-control", "no-cache"), ("pragma", "no-cache")], _WAF_403),
    "waf_429": (429, [_HTML, _NO_STORE, ("server", "cloudflare"), ("cf-ray", _RAY)], _WAF_429),
    "waf_503": (503, [_HTML, ("cache-control", "no-cache, no-store"), ("x-cdn", "Imperva")], _WAF_503),
    "captcha": (200, [_HTML, _NO_STORE], _CAPTCHA),
}


def wall_response(kind: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (content-type included) and body of a wall of this kind (one of WALL_KINDS)."""
    if kind not in _WALLS:
        raise ValueError(f"unknown wall kind {kind!r}; expected one of {WALL_KINDS}")
    status, headers, body = _WALLS[kind]
    return status, list(headers), body.encode("utf-8")
