"""Bot walls (parse/bot_walls.py, rules in parse/templates/bot_walls.yml): vendors' wall pages, written as
they are served (abbreviated), are walls of the right kind and vendor; ordinary Vietnamese portal pages,
plain server errors and junk are not. Every marker, header and challenge path in the rules file fires in a
test below, and every vendor it names has a realistic page here, so the rules and the tests cannot drift."""

from __future__ import annotations

import html
import random
from urllib.parse import urlsplit

import pytest

from portal_index.demo.walls import CHALLENGE_COOKIE, WALL_KINDS, wall_response
from portal_index.parse import bot_walls
from portal_index.parse.bot_walls import EVIDENCE_CHARS, Wall, challenge_redirect, rules, wall_of
from portal_index.parse.page_signals import load_keywords, page_facts

RULES = rules()
HTML = ("content-type", "text/html; charset=UTF-8")
CF = [HTML, ("server", "cloudflare"), ("cf-ray", "8a1b2c3d4e5f6789-SIN")]

# ------------------------------------------------------------------------------------- vendors' pages

CF_MANAGED_CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge">
<meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1">
<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15}</style>
<meta http-equiv="refresh" content="390"></head><body class="no-js"><div class="main-wrapper" role="main">
<div class="main-content"><noscript><div id="challenge-error-title"><div class="h2"><span class="icon-wrapper">
<div class="heading-icon warning-icon"></div></span><span id="challenge-error-text">Enable JavaScript and cookies
to continue</span></div></div></noscript></div></div><script>(function(){window._cf_chl_opt={cvId: '3',
cZone: "dichvucong.example.gov.vn",cType: 'managed',cRay: '8a1b2c3d4e5f6789',cH: 'V2n1.Xk',
cUPMDTk: "\\/?__cf_chl_tk=Qm9.1720000000-1.0.1.1-abc",cFPWv: 'b',cITimeS: '1720000000'};
var cpo = document.createElement('script');
cpo.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1b2c3d4e5f6789';
window._cf_chl_opt.cOgUHash = location.hash === '' && location.href.indexOf('#') !== -1 ? '#' : location.hash;
if (window.history && window.history.replaceState) {var ogU = location.pathname + window._cf_chl_opt.cOgUHash;
history.replaceState(null, null, "\\/?__cf_chl_rt_tk=Qm9.1720000000-1.0.1.1-abc" + window._cf_chl_opt.cOgUHash);
cpo.onload = function() {history.replaceState(null, null, ogU);};}
document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"""

CF_BLOCKED = """<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head><title>Attention Required! | Cloudflare</title><meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" /><link rel="stylesheet" id="cf_styles-css"
href="/cdn-cgi/styles/cf.errors.css" />
</head><body><div id="cf-wrapper"><div class="cf-alert cf-alert-error cf-cookie-error" id="cookie-alert"
data-translate="enable_cookies">Please enable cookies.</div><div id="cf-error-details" class="cf-error-details-wrapper">
<div class="cf-wrapper cf-header cf-error-overview"><h1 data-translate="block_headline">Sorry, you have been
blocked</h1> <h2 class="cf-subheadline"><span data-translate="unable_to_access">You are unable to access</span>
hanoi.example.gov.vn</h2>
</div><div class="cf-section cf-wrapper"><div class="cf-columns two"><div class="cf-column">
<h2 data-translate="blocked_why_headline">Why have I been blocked?</h2><p
data-translate="blocked_why_detail">This website
is using a security service to protect itself from online attacks. The action you just performed triggered the security
solution. There are several actions that could trigger this block including submitting a certain word or phrase, a SQL
command or malformed data.</p></div><div class="cf-column"><h2 data-translate="blocked_resolve_headline">What can I do
to resolve this?</h2><p data-translate="blocked_resolve_detail">You can email the site owner to let them know you were
blocked. Please include what you were doing when this page came up and the Cloudflare Ray ID found at the bottom of this
page.</p></div></div></div><div class="cf-error-footer cf-wrapper"><p class="text-13"><span
class="cf-footer-item">Cloudflare
Ray ID: <strong class="font-semibold">8a1b2c3d4e5f6789</strong></span><span class="cf-footer-separator">&bull;</span>
<span id="cf-footer-item-ip" class="cf-footer-item">Your IP: <button type="button" id="cf-footer-ip-reveal"
class="cf-footer-ip-reveal-btn">Click to reveal</button><span class="hidden" id="cf-footer-ip">203.0.113.7</span></span>
<span class="cf-footer-separator">&bull;</span><span class="cf-footer-item"><span>Performance &amp; security by</span>
<a rel="noopener noreferrer" href="https://www.cloudflare.com/5xx-error-landing" id="brand_link"
target="_blank">Cloudflare</a>
</span></p></div></div></div></body></html>"""

CF_CAPTCHA = CF_BLOCKED.replace(
    '<div class="cf-section cf-wrapper">',
    '<div class="cf-section cf-wrapper"><div class="cf-captcha-container"><form id="challenge-form" '
    'action="/?__cf_chl_captcha_tk__=pmd_abc" method="POST"><div class="h-captcha" data-sitekey="33f96e6a-38cd-421b">'
    "</div></form></div>",
)

CF_1020 = "error code: 1020"

# Cloudflare's own page when the origin does not answer: a server error, not a wall
CF_522 = """<!DOCTYPE html><html class="no-js" lang="en-US"><head>
<title>hanoi.example.gov.vn | 522: Connection timed out</title>
<meta charset="UTF-8" /></head><body><div id="cf-wrapper"><div id="cf-error-details" class="p-0"><header>
<h1><span class="inline-block">Connection timed out</span><span class="code-label">Error code 522</span></h1>
<div>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> for more information.</div>
<div class="mt-3">2025-07-01 02:15:22 UTC</div></header><div class="my-4 bg-gradient-gray">Browser Working -
Cloudflare Working - Host Error</div><div class="w-240 lg:w-full mx-auto mb-8"><h2>What happened?</h2>
<p>The initial connection between Cloudflare's network and the origin web server timed out.</p></div>
<div class="cf-error-footer"><p>Cloudflare Ray ID: <strong>8a1b2c3d4e5f6789</strong> &bull; Performance &amp; security
by <a href="https://www.cloudflare.com/5xx-error-landing">Cloudflare</a></p></div></div></div></body></html>"""

IMPERVA_BLOCKED = """<html style="height:100%"><head><META NAME="ROBOTS" CONTENT="NOINDEX, NOFOLLOW">
<meta name="format-detection" content="telephone=no"><meta name="viewport" content="initial-scale=1.0">
<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1"></head><body style="margin:0px;height:100%">
<iframe id="main-iframe"
src="/_Incapsula_Resource?CWUDNSAI=9&incident_id=987000120098765432-543210987654321012&edet=12&cinfo=04000000&rpinfo=0"
frameborder=0 width="100%" height="100%" marginheight="0px" marginwidth="0px">Request unsuccessful. Incapsula incident
ID: 987000120098765432-543210987654321012</iframe></body></html>"""

IMPERVA_JS = """<html>
<head>
<META NAME="robots" CONTENT="noindex,nofollow">
<script src="/_Incapsula_Resource?SWJIYLWA=5074a744e2e3d891814e9a2dace20bd4,719d34d31c8e3a6e6fffd425f7e032f3">
</script>
<body>
</body></html>"""

IMPERVA_ABP = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Pardon Our Interruption</title>
<meta name="robots" content="noindex, nofollow"></head><body><div class="container"><h1>Pardon Our Interruption</h1>
<p>As you were browsing something about your browser made us think you were a bot. There are a few reasons this might
happen:</p><ul><li>You're a power user moving through this website with super-human speed.</li><li>You've disabled
cookies in your web browser.</li><li>A third-party browser plugin, such as Ghostery or NoScript, is
preventing JavaScript
from running.</li></ul><p>To regain access, please make sure that cookies and JavaScript are enabled before reloading
the page.</p></div></body></html>"""

AKAMAI = """<HTML><HEAD>
<TITLE>Access Denied</TITLE>
</HEAD><BODY>
<H1>Access Denied</H1>

You don't have permission to access "http&#58;&#47;&#47;dichvucong&#46;example&#46;gov&#46;vn&#47;" on this server.<P>
Reference&#32;&#35;18&#46;2d351ab8&#46;1720000000&#46;a4e16ab
<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;2d351ab8&#46;1720000000&#46;a4e16ab</P>
</BODY>
</HTML>"""

AKAMAI_BOT_MANAGER = """<!DOCTYPE html><html><head><meta charset="utf-8"><title></title>
<script>var i = 1720000000; var j = i + Number("8" + "40823"); var xhr = new XMLHttpRequest();
xhr.open("POST", "/_sec/verify?provider=interstitial", false); xhr.setRequestHeader("Content-Type", "application/json");
xhr.send(JSON.stringify({"bm-verify": "AAQAAAAJ_____3a8c", "pow": j})); window.location.reload();</script>
</head><body></body></html>"""

F5_ASM = """<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. Please consult with
your administrator.<br><br>Your support ID is: 4836261392461848765<br><br>
<a href='javascript:history.back();'>[Go Back]</a></body></html>"""

SUCURI = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0
Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en"><head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<link rel="stylesheet" href="https://cdn.sucuri.net/sucuri-firewall-block.css" />
<title>Sucuri WebSite Firewall - Access Denied</title></head><body><div id="main-container"><div id="header">
<div id="logo"><a href="https://sucuri.net" target="_blank"><img src="https://cdn.sucuri.net/sucuri-firewall-logo.png"
alt="Sucuri" /></a></div><h1>Access Denied - Sucuri Website Firewall</h1></div><div id="main-content"><h3>If you are the
site owner (or you manage this site), please whitelist your IP or if you think this block is an error please
<a href="https://support.sucuri.net" target="_blank">open a support ticket</a> and make sure to include the block
details (displayed in the box below), so we can assist you in troubleshooting the issue.</h3><h2>Block details:</h2>
<table class="access-denied"><tr><td><span>Your IP:</span></td><td><span>203.0.113.7</span></td></tr>
<tr><td><span>URL:</span></td><td><span>sotttt.example.gov.vn/</span></td></tr>
<tr><td><span>Block ID:</span></td><td><span>BNP005</span></td></tr>
<tr><td><span>Block reason:</span></td><td><span>Bad bot access attempt.</span></td></tr>
<tr><td><span>Time:</span></td><td><span>2025-07-01 09:15:22</span></td></tr></table></div>
<div class="footer"><p>Sucuri Website Firewall - Contact us: <a
href="mailto:cloudproxy@sucuri.net">cloudproxy@sucuri.net</a>.
Privacy: <a href="https://sucuri.net/privacy-policy" target="_blank">https://sucuri.net/privacy-policy</a></p></div>
</div></body></html>"""

AWS_CAPTCHA = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title></title>
<style>body{font-family:Arial,sans-serif}#captcha-container{margin:auto}</style>
<script>window.awsWafCookieDomainList = [];window.gokuProps = {"key":"AQIDAHjcYu","iv":"A6weaADwQQAABNdX",
"context":"zJ6qh"};</script>
<script src="https://3b8f9c2a1d4e.5c6d7e8f9a0b.ap-southeast-1.captcha.awswaf.com/3b8f9c2a1d4e/5c6d7e8f9a0b/jsapi.js"></script>
</head><body><div id="captcha-container"></div><script type="text/javascript">AwsWafIntegration.saveReferrer();
window.addEventListener("load", function() { const container = document.querySelector("#captcha-container");
CaptchaScript.renderCaptcha(container, async (voucher) => { await ChallengeScript.submitCaptcha(voucher);
window.location.reload(true); }); });</script><noscript><h1>JavaScript is disabled</h1>In order to continue, you need to
verify that you're not a robot by solving a CAPTCHA puzzle. The CAPTCHA puzzle requires JavaScript. Enable JavaScript
and then reload the page.</noscript></body></html>"""

AWS_CHALLENGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title></title>
<script>window.awsWafCookieDomainList = [];window.gokuProps = {"key":"AQIDAHjcYu","iv":"D549dgCUEAAAHgiJ"};</script>
<script src="https://3b8f9c2a1d4e.5c6d7e8f9a0b.ap-southeast-1.token.awswaf.com/3b8f9c2a1d4e/5c6d7e8f9a0b/challenge.js">
</script></head><body><div id="challenge-container"></div><script type="text/javascript">
AwsWafIntegration.saveReferrer(); ChallengeScript.submitChallenge().then(() => { window.location.reload(true); });
</script><noscript><h1>JavaScript is disabled</h1>In order to continue, we need to verify that you're not a robot.
This requires JavaScript. Enable JavaScript and then reload the page.</noscript></body></html>"""

CLOUDFRONT_BLOCKED = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01
Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">
<TITLE>ERROR: The request could not be satisfied</TITLE>
</HEAD><BODY>
<H1>403 ERROR</H1>
<H2>The request could not be satisfied.</H2>
<HR noshade size="1px">
Request blocked.
We can't connect to the server for this app or website at this time. There might be too much traffic or a configuration
error. Try again later, or contact the app or website owner.
<BR clear="all">
If you provide content to customers through CloudFront, you can find steps to troubleshoot and help prevent this error
by reviewing the CloudFront documentation.
<BR clear="all">
<HR noshade size="1px">
<PRE>
Generated by cloudfront (CloudFront)
Request ID: 5xT2ZbQy8nKjW1mPqRs3uVwXyZ0aBcDeFgHiJkLmNoPqRsTuVw==
</PRE>
<ADDRESS>
</ADDRESS>
</BODY></HTML>"""

DDOS_GUARD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DDoS-Guard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow">
<link rel="stylesheet" href="/.well-known/ddos-guard/css/style.css"></head><body><div class="ddg-container">
<div class="ddg-spinner"></div><h1>Checking your browser before accessing congbao.example.vn</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>
<p>Please allow up to 5 seconds…</p><p class="ddg-footer">DDoS protection by <a
href="https://ddos-guard.net/">DDoS-Guard</a>
</p></div><script src="/.well-known/ddos-guard/js-challenge/index.js"></script></body></html>"""

MODSECURITY = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>406 Not Acceptable</title>
</head><body>
<h1>Not Acceptable</h1>
<p>An appropriate representation of the requested resource could not be found on this server.</p>
<p>This error was generated by Mod_Security.</p>
</body></html>"""

# plausible: written from the vendors' public descriptions, not from a capture
VNIS = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>403 - Truy cập bị từ chối</title></head>
<body><div class="box"><h1>Truy cập bị từ chối</h1><p>Yêu cầu của bạn đã bị hệ thống bảo mật chặn lại.</p>
<p>Mã sự cố: 7f3c9a12e4b8 - Thời gian: 01/07/2025 09:15:22</p><hr><p class="footer">Protected by VNIS -
<a href="https://vnis.vn">vnis.vn</a></p></div></body></html>"""

VIETTEL = """<html><head><meta charset="utf-8"><title>Access Denied</title></head><body><div class="content">
<h2>Access Denied - Viettel WAF System</h2><p>Truy cập của bạn đã bị từ chối vì lý do bảo mật.</p>
<p>Your request was denied for security reasons. Event ID: 20250701-091522-8a1b</p>
<p><a href="https://cloudrity.com.vn/">Cloudrity</a></p></div></body></html>"""

# generic: nginx testcookie's challenge (a cookie computed with AES, then a new navigation)
TESTCOOKIE = """<html><body><script type="text/javascript" src="/aes.js" ></script>
<script>function toNumbers(d){var e=[];
d.replace(/(..)/g,function(d){e.push(parseInt(d,16))});return e}function toHex(){for(var d=[],d=1==arguments.length&&
arguments[0].constructor==Array?arguments[0]:arguments,e="",f=0;f<d.length;f++)e+=(16>d[f]?"0":"")+d[f].toString(16);
return e.toLowerCase()}var a=toNumbers("f655ba9d09a112d4968c63579db590b4"),
b=toNumbers("98344c2eee86c3994890592585b49f80"),
c=toNumbers("1c0e8a7e1e4a5b8b6b4f2a9c3d7e6f10");document.cookie="__test="+toHex(slowAES.decrypt(c,2,a,b))+
"; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/"; location.href="http://congbao.example.gov.vn/?i=1";</script>
<noscript>This site requires Javascript to work, please enable Javascript in your browser or use a browser with
Javascript support</noscript></body></html>"""

# generic: a home-made Vietnamese anti-DDoS page
HOME_MADE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Vui lòng chờ...</title></head>
<body><p>Hệ thống đang xử lý, vui lòng chờ trong giây lát...</p><script>var t=Math.floor(Date.now()/1000);
document.cookie = "ddos_pass=" + t + "; max-age=3600; path=/";
setTimeout(function(){ window.location.replace(window.location.href); }, 1500);</script></body></html>"""

HOME_MADE_VI_TEXT = HOME_MADE.replace("Vui lòng chờ...", "Đang kiểm tra trình duyệt...")

META_REFRESH = """<html><head>
<meta http-equiv="refresh" content="0;url=/__challenge?next=%2Fvi%2Ftrang-chu&amp;t=1720000000">
</head><body>Vui lòng chờ...</body></html>"""

RECAPTCHA = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Xác minh</title>
<script src="https://www.google.com/recaptcha/api.js" async defer></script></head><body><h1>Xác minh truy cập</h1>
<form method="post" action="/verify"><input type="hidden" name="r" value="/"><div class="g-recaptcha"
data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div><textarea id="g-recaptcha-response"
name="g-recaptcha-response" style="display:none"></textarea><input type="submit" value="Tiếp
tục"></form></body></html>"""

HCAPTCHA = """<html><head><script src="https://js.hcaptcha.com/1/api.js" async defer></script></head><body>
<form action="/verify" method="POST"><div class="h-captcha" data-sitekey="10000000-ffff-ffff-ffff-000000000001"></div>
<button>Gửi</button></form></body></html>"""

TURNSTILE = """<html><head><script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>
</head><body><form action="/verify" method="POST"><div class="cf-turnstile"
data-sitekey="1x00000000000000000000AA"></div>
<button type="submit">Tiếp tục</button></form></body></html>"""

IMAGE_CAPTCHA = """<html><head><meta charset="utf-8"><title>Kiểm tra bảo mật</title></head><body>
<form method="post" action="/kiem-tra"><p>Nhập mã xác nhận để tiếp tục truy cập:</p><img src="/Captcha.ashx?w=120">
<input type="text" name="txtCaptcha" id="txtCaptcha"><input type="submit" value="Xác nhận"></form></body></html>"""

GENERIC_FIREWALL = """<html><head><meta charset="utf-8"><title>Cảnh báo</title></head><body><h1>Cảnh báo bảo mật</h1>
<p>Yêu cầu của bạn đã bị chặn bởi tường lửa ứng dụng web.</p><p>Mã yêu cầu: 1720000000-42</p></body></html>"""

# (name, status, headers, body, kind, vendor)
WALLS = [
    (
        "cloudflare managed challenge",
        403,
        [*CF, ("cf-mitigated", "challenge")],
        CF_MANAGED_CHALLENGE,
        "challenge",
        "cloudflare",
    ),
    ("cloudflare challenge, body only", 200, [HTML], CF_MANAGED_CHALLENGE, "challenge", "cloudflare"),
    ("cloudflare block", 403, CF, CF_BLOCKED, "waf", "cloudflare"),
    ("cloudflare block page served 200", 200, None, CF_BLOCKED, "waf", "cloudflare"),
    ("cloudflare captcha", 403, CF, CF_CAPTCHA, "captcha", "cloudflare"),
    ("cloudflare 1020", 403, [("content-type", "text/plain; charset=UTF-8")], CF_1020, "waf", "cloudflare"),
    (
        "imperva block",
        403,
        [HTML, ("x-iinfo", "10-98765432-0 0NNN RT(1720000000000 12)")],
        IMPERVA_BLOCKED,
        "waf",
        "imperva",
    ),
    ("imperva block served 200", 200, [HTML], IMPERVA_BLOCKED, "waf", "imperva"),
    (
        "imperva js challenge",
        200,
        [HTML, ("set-cookie", "visid_incap_2734=Ab3; path=/")],
        IMPERVA_JS,
        "challenge",
        "imperva",
    ),
    ("imperva bot protection", 200, [HTML], IMPERVA_ABP, "captcha", "imperva"),
    ("akamai", 403, [HTML, ("server", "AkamaiGHost"), ("mime-version", "1.0")], AKAMAI, "waf", "akamai"),
    ("akamai body only", 200, [], AKAMAI, "waf", "akamai"),
    ("akamai bot manager", 200, [HTML], AKAMAI_BOT_MANAGER, "challenge", "akamai"),
    ("f5 asm (answers 200)", 200, [HTML, ("cache-control", "no-cache"), ("connection", "close")], F5_ASM, "waf", "f5"),
    ("f5 asm 403", 403, [HTML, ("set-cookie", "TS01a2b3c4=01f2e3d4c5b6; Path=/")], F5_ASM, "waf", "f5"),
    (
        "sucuri",
        403,
        [HTML, ("server", "Sucuri/Cloudproxy"), ("x-sucuri-id", "14013"), ("x-sucuri-block", "BNP005")],
        SUCURI,
        "waf",
        "sucuri",
    ),
    ("sucuri body only", 403, None, SUCURI, "waf", "sucuri"),
    ("aws waf captcha", 405, [HTML, ("x-amzn-waf-action", "captcha")], AWS_CAPTCHA, "captcha", "aws"),
    ("aws waf captcha body only", 405, [HTML], AWS_CAPTCHA, "captcha", "aws"),
    ("aws waf challenge", 202, [HTML, ("x-amzn-waf-action", "challenge")], AWS_CHALLENGE, "challenge", "aws"),
    ("aws waf challenge body only", 202, [HTML], AWS_CHALLENGE, "challenge", "aws"),
    (
        "cloudfront web acl",
        403,
        [HTML, ("server", "CloudFront"), ("x-cache", "Error from cloudfront"), ("x-amz-cf-pop", "HAN50-P1")],
        CLOUDFRONT_BLOCKED,
        "waf",
        "aws",
    ),
    ("ddos-guard", 403, [HTML, ("server", "ddos-guard")], DDOS_GUARD, "challenge", "ddos-guard"),
    ("modsecurity 406", 406, [HTML, ("server", "Apache")], MODSECURITY, "waf", "modsecurity"),
    ("vnis (plausible)", 403, [HTML], VNIS, "waf", "vnis"),
    ("viettel", 403, [HTML], VIETTEL, "waf", "viettel"),
    ("testcookie", 200, [HTML], TESTCOOKIE, "challenge", "unknown"),
    ("home-made anti-ddos", 200, [HTML], HOME_MADE, "challenge", "unknown"),
    ("home-made, vietnamese wording", 200, [HTML], HOME_MADE_VI_TEXT, "challenge", "unknown"),
    ("home-made behind cloudflare", 200, CF, HOME_MADE, "challenge", "cloudflare"),
    ("meta refresh into a challenge", 200, [HTML], META_REFRESH, "challenge", "unknown"),
    ("recaptcha gate", 200, [HTML], RECAPTCHA, "captcha", "unknown"),
    ("hcaptcha gate", 200, [HTML], HCAPTCHA, "captcha", "unknown"),
    ("turnstile gate", 200, [HTML], TURNSTILE, "captcha", "unknown"),
    ("image captcha gate", 200, [HTML], IMAGE_CAPTCHA, "captcha", "unknown"),
    ("generic firewall words", 403, [HTML], GENERIC_FIREWALL, "waf", "unknown"),
    ("generic words behind imperva", 403, [HTML, ("x-cdn", "Imperva")], GENERIC_FIREWALL, "waf", "imperva"),
    (
        "redirect into a challenge",
        302,
        [("location", "/cdn-cgi/challenge-platform/h/b/jsd/r/8a1b")],
        b"",
        "challenge",
        "cloudflare",
    ),
]


@pytest.mark.parametrize("name, status, headers, body, kind, vendor", WALLS, ids=[w[0] for w in WALLS])
def test_a_vendors_wall_page_is_a_wall_of_its_kind_and_vendor(name, status, headers, body, kind, vendor):
    for served in (body, body.encode("utf-8") if isinstance(body, str) else body):
        wall = wall_of(status, headers, served)
        assert wall is not None, name
        assert (wall.kind, wall.vendor) == (kind, vendor)
        assert wall.evidence and len(wall.evidence) <= EVIDENCE_CHARS
        assert wall.reason() == f"blocked: {kind} ({vendor}): {wall.evidence}"


def test_every_vendor_in_the_rules_has_a_realistic_wall_page_here():
    assert {w[5] for w in WALLS} == set(RULES.vendors)


def test_the_vietnamese_provider_is_marked_plausible():
    assert RULES.confidence["vnis"] == "plausible"
    assert all(rule.confidence == "plausible" for rule in RULES.body if rule.vendor == "vnis")


# ----------------------------------------------------------------- every marker in the rules file fires


def _page(text: str) -> str:
    return f"<html><head><title>x</title></head><body><p>{html.escape(text)}</p></body></html>"


def _big(text: str) -> str:
    """An ordinary portal page (long text, a menu of links) holding `text`."""
    menu = "".join(f'<li><a href="/vi/muc-{i}">Chuyên mục {i}</a></li>' for i in range(40))
    prose = "<p>Cổng thông tin điện tử tỉnh công khai thủ tục hành chính, văn bản và tin tức.</p>" * 60
    return f"<html><body><ul>{menu}</ul>{prose}<p>{html.escape(text)}</p></body></html>"


BODY_CASES = [
    (rule, text)
    for rule in RULES.body
    for text in ([m.example for m in rule.any] if rule.any else [" / ".join(m.example for m in rule.all)])
]


@pytest.mark.parametrize("rule, text", BODY_CASES, ids=[f"{r.vendor}:{t[:40]}" for r, t in BODY_CASES])
def test_every_body_marker_fires_where_its_rule_says(rule, text):
    blocked_status = 200 if rule.where == "small" else 403
    wall = wall_of(blocked_status, None, _page(text))
    assert wall is not None and (wall.kind, wall.vendor) == (rule.kind, rule.vendor)
    # a big page is a wall only with a blocking status and a marker that counts there
    assert wall_of(200, None, _big(text)) is None
    big_blocked = wall_of(403, None, _big(text))
    if rule.where == "blocked_or_small":
        assert big_blocked is not None and big_blocked.vendor == rule.vendor
    else:
        assert big_blocked is None
    if rule.where == "blocked_and_small":  # generic words on a small 200 page are not a wall
        assert wall_of(200, None, _page(text)) is None


@pytest.mark.parametrize("rule", RULES.presence, ids=[f"{r.vendor}:{r.header}" for r in RULES.presence])
def test_every_presence_header_is_a_wall_only_with_a_refusing_status(rule):
    headers = [(rule.header.title(), rule.value.example if rule.value else "x1")]
    for status in sorted(RULES.header_only):
        assert wall_of(status, headers, b"") == Wall("waf", rule.vendor, wall_of(status, headers, b"").evidence)
    for status in (200, 301, 404, 500, 503):
        assert wall_of(status, headers, b"<html><body>ok</body></html>") is None


@pytest.mark.parametrize("rule", RULES.actions, ids=[f"{r.vendor}:{r.header}:{r.kind}" for r in RULES.actions])
def test_every_action_header_is_a_wall_with_any_status(rule):
    headers = {rule.header.upper(): rule.value.example if rule.value else "block"}
    for status in (200, 202, 403, 405, None):
        wall = wall_of(status, headers, None)
        assert wall is not None and (wall.kind, wall.vendor) == (rule.kind, rule.vendor)


@pytest.mark.parametrize("rule", RULES.challenge_paths, ids=[r.marker.text for r in RULES.challenge_paths])
def test_every_challenge_path_is_a_challenge_redirect(rule):
    path = rule.marker.example if rule.marker.example.startswith("/") else f"/vi/?{rule.marker.example}=1"
    location = f"https://portal.example.gov.vn{path}"
    assert challenge_redirect(location) == Wall("challenge", rule.vendor, challenge_redirect(location).evidence)
    assert wall_of(302, [("Location", location)], b"").vendor == rule.vendor
    assert wall_of(200, None, f'<meta http-equiv="refresh" content="0; url={location}">').vendor == rule.vendor


# -------------------------------------------------------------------------------- not walls: content


def portal_home(extra: str = "", scripts: str = "") -> str:
    """A Vietnamese provincial portal's home page, as such portals serve it (abbreviated)."""
    menu = "".join(
        f'<li><a href="/vi/{slug}">{label}</a></li>'
        for slug, label in [
            ("gioi-thieu", "Giới thiệu"),
            ("tin-tuc", "Tin tức - Sự kiện"),
            ("van-ban", "Văn bản pháp luật"),
            ("thu-tuc", "Thủ tục hành chính"),
            ("dich-vu-cong", "Dịch vụ công trực tuyến"),
            ("gop-y", "Góp ý, phản ánh kiến nghị"),
            ("lien-he", "Liên hệ"),
            ("so-do", "Sơ đồ cổng"),
        ]
    )
    news = "".join(
        f'<article><h3><a href="/vi/tin-tuc/bai-{i}">Hội nghị triển khai nhiệm vụ chuyển đổi số năm 2025, '
        f"đợt {i}</a></h3>"
        f"<p>Sáng 01/07/2025, UBND tỉnh tổ chức hội nghị đánh giá kết quả thực hiện thủ tục hành chính trên môi "
        f"trường điện tử và triển khai nhiệm vụ trong thời gian tới.</p></article>"
        for i in range(12)
    )
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thông tin điện tử tỉnh</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/site.css">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-XXXX"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new
Date());</script>
{scripts}</head><body><header><a href="/"><img src="/logo.png" alt="Quốc huy"></a>
<form action="/vi/tim-kiem" method="get" class="search"><input type="text" name="keyword" placeholder="Tìm kiếm...">
<button type="submit">Tìm</button></form><nav><ul>{menu}</ul></nav></header><main>{news}{extra}</main>
<footer>Cơ quan chủ quản: UBND tỉnh. Địa chỉ: Số 1 đường Trần Phú. Điện thoại: 024 3825 1234.</footer></body></html>"""


LANGUAGE_SWITCH = """<script>function setLang(l){document.cookie = "lang=" + l + "; path=/"; location.reload();}
$(function(){ if (window.location.hash) { $('a[href="' + window.location.hash + '"]').tab('show'); } });</script>"""
INJECTED = """<script>(function(){var a=document.createElement('script');
a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';document.head.appendChild(a);})();</script>
<script type="text/javascript" src="/_Incapsula_Resource?SWJIYLWA=719d34d31c8e3a6e6fffd425f7e032f3" async></script>"""
ARTICLE = """<article><h1>Cảnh giác với trang giả mạo yêu cầu nhập captcha</h1><p>Thời gian qua, nhiều trang web giả
hiển thị thông báo "Just a moment..." giống Cloudflare hoặc "Attention Required! | Cloudflare", yêu cầu người dân nhập
mã captcha (g-recaptcha) rồi tải tệp độc hại. Tường lửa ứng dụng web (Web Application Firewall) của các cơ quan nhà
nước không bao giờ yêu cầu tải tệp. Yêu cầu của bạn đã bị chặn là thông báo thường gặp khi truy cập bất thường.</p>
</article>"""
FEEDBACK_FORM = """<form action="/vi/gop-y/gui" method="post">
<label for="ten">Họ và tên</label><input id="ten" name="HoTen">
<label for="email">Email</label><input id="email" name="Email" type="email"><label for="nd">Nội dung góp ý</label>
<textarea id="nd" name="NoiDung"></textarea><div class="g-recaptcha"
data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI">
</div><script src="https://www.google.com/recaptcha/api.js"></script><button type="submit">Gửi góp ý</button></form>"""
LOOKUP = """<html><head><meta charset="utf-8"><title>Tra cứu hồ sơ</title></head><body><h1>Tra cứu hồ sơ</h1>
<form method="post" action="/tra-cuu"><label>Mã hồ sơ <input name="MaHoSo"></label><img src="/captcha.ashx">
<label>Mã xác nhận <input name="Captcha"></label><button>Tra cứu</button></form></body></html>"""
LOGIN = """<html><head><meta charset="utf-8"><title>Đăng nhập</title></head><body>
<form method="post" action="/dang-nhap">
<input name="username" placeholder="Tên đăng nhập"><input type="password" name="password" placeholder="Mật khẩu">
<div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div><button>Đăng nhập</button>
</form></body></html>"""
APP_SHELL = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng Dịch vụ công</title>
<base href="/">
<script>if (!document.cookie.match(/lang=/)) { document.cookie = "lang=vi; path=/"; }
if (window.location.pathname === "/") { window.location.href = "/vi/"; }</script></head><body><app-root></app-root>
<noscript>Vui lòng bật JavaScript để sử dụng Cổng Dịch vụ công.</noscript><script src="main.4f2a1c.js"
type="module"></script>
</body></html>"""
JS_REDIRECT = """<html><head><script>window.location.href = "/wps/portal/trang-chu";</script></head>
<body>Đang chuyển trang...</body></html>"""
NGINX_503 = """<html>
<head><title>503 Service Temporarily Unavailable</title></head>
<body>
<center><h1>503 Service Temporarily Unavailable</h1></center>
<hr><center>nginx</center>
</body>
</html>"""
NGINX_403 = NGINX_503.replace("503 Service Temporarily Unavailable", "403 Forbidden")
NGINX_429 = NGINX_503.replace("503 Service Temporarily Unavailable", "429 Too Many Requests")
IIS_503 = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">
<HTML><HEAD><TITLE>Service Unavailable</TITLE><META HTTP-EQUIV="Content-Type" Content="text/html;
charset=us-ascii"></HEAD>
<BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>"""
PNG_WITH_TEXT = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00\x90\x91h6"
    b"\x00\x00\x00\x2btEXtComment\x00<title>Just a moment...</title>\x00\x00\x00\x00"
    + b"\x00\x00\x00\x0cIDATx\x9cc\x00\x00\x00\x00\x00\x00\x00\x00" * 4
    + b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PORTAL_404 = portal_home(extra="<h1>Không tìm thấy trang</h1><p>Trang bạn tìm không tồn tại hoặc đã bị xoá.</p>")

NOT_WALLS = [
    ("portal home", 200, [HTML], portal_home()),
    ("portal home behind cloudflare", 200, CF, portal_home(scripts=INJECTED)),
    ("portal home behind imperva", 200, [HTML, ("x-iinfo", "3-1"), ("set-cookie", "incap_ses_1=a")], portal_home()),
    ("language switch: sets a cookie and reloads", 200, [HTML], portal_home(scripts=LANGUAGE_SWITCH)),
    ("news article about captchas and walls", 200, [HTML], portal_home(extra=ARTICLE)),
    ("feedback form with recaptcha", 200, [HTML], portal_home(extra=FEEDBACK_FORM)),
    ("bare feedback form with recaptcha", 200, [HTML], f"<html><body>{FEEDBACK_FORM}</body></html>"),
    ("lookup form with captcha", 200, [HTML], LOOKUP),
    ("login form with recaptcha", 200, [HTML], LOGIN),
    ("app shell that sets a language cookie and routes", 200, [HTML], APP_SHELL),
    ("javascript redirect page", 200, [HTML], JS_REDIRECT),
    ("meta refresh to an ordinary page", 200, [HTML], '<meta http-equiv="refresh" content="0;url=/vi/trang-chu">'),
    ("redirect to an ordinary page", 302, [("location", "https://challenge.example.gov.vn/vi/")], b""),
    ("plain nginx 503", 503, [HTML, ("server", "nginx")], NGINX_503),
    ("plain iis 503", 503, [HTML, ("server", "Microsoft-IIS/10.0")], IIS_503),
    ("plain nginx 403", 403, [HTML, ("server", "nginx")], NGINX_403),
    ("plain nginx 429", 429, [HTML, ("retry-after", "60")], NGINX_429),
    ("cloudflare origin timeout", 522, CF, CF_522),
    ("503 through cloudflare", 503, CF, NGINX_503),
    ("portal 404 page", 404, [HTML], PORTAL_404),
    ("tiny 404", 404, [HTML], "<html><body><h1>404 Not Found</h1></body></html>"),
    ("empty 200", 200, [HTML], b""),
    ("no body", 200, None, None),
    ("nothing at all", None, None, None),
    ("png", 200, [("content-type", "image/png")], b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40),
    ("png whose metadata holds a marker", 200, [("content-type", "image/png")], PNG_WITH_TEXT),
    ("pdf", 200, [("content-type", "application/pdf")], b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj"),
]


@pytest.mark.parametrize("name, status, headers, body", NOT_WALLS, ids=[n[0] for n in NOT_WALLS])
def test_content_errors_and_junk_are_not_walls(name, status, headers, body):
    assert wall_of(status, headers, body) is None, name


def test_the_content_pages_here_are_really_big_and_the_walls_really_small():
    """The negatives above test the rules only if they are pages a size test lets through to the markers."""
    r = RULES
    big = bot_walls._Page(*bot_walls._body(portal_home(extra=ARTICLE).encode(), r.body_window), r)
    assert big.size <= r.small.max_bytes and not big.fits(r.small)  # small in bytes, not in text and links
    small = bot_walls._Page(*bot_walls._body(CF_BLOCKED.encode(), r.body_window), r)
    assert small.fits(r.small) and not small.fits(r.tiny)


def test_a_small_page_without_any_marker_is_not_parsed(monkeypatch):
    """The crawler asks this of every page: the parse that tells a small page is left for the pages a
    marker was found in (the rules' order and result are the same either way, as the tests above show)."""
    page = "<html><head><title>Cổng thông tin</title></head><body><p>Tin tức</p><a href='/a'>A</a></body></html>"
    parsed = []
    real = bot_walls.LexborHTMLParser
    monkeypatch.setattr(bot_walls, "LexborHTMLParser", lambda raw: parsed.append(raw) or real(raw))
    assert wall_of(200, None, page) is None and parsed == []
    assert wall_of(200, None, CF_BLOCKED) is not None and len(parsed) == 1  # a marker: then parsed, once


def test_only_the_start_of_a_body_is_read():
    late = b"<html><body>" + b" " * RULES.body_window + b"Attention Required! | Cloudflare</body></html>"
    assert wall_of(403, None, late) is None
    assert wall_of(403, None, late.decode()) is None
    early = b"<html><body>Attention Required! | Cloudflare" + b"<p>x</p>" * 2_000_000 + b"</body></html>"
    assert wall_of(403, None, early) == Wall("waf", "cloudflare", "Attention Required! | Cloudflare")
    assert wall_of(200, None, early) is None  # a 16 MB page is not a wall page


def test_a_wall_page_cut_at_the_window_is_not_taken_for_a_small_one():
    head = ("<html><head><script>" + "var x = 1;" * 7000 + "</script>").encode()  # 70 kB of script, no text
    page = head + b"<title>Just a moment...</title></head><body></body></html>"
    assert wall_of(200, None, head[: RULES.body_window].decode() + "Just a moment...") is None
    assert wall_of(200, None, page) is None


# ----------------------------------------------------------------------------------- headers and input


@pytest.mark.parametrize(
    "status, headers, vendor",
    [
        (403, {"Server": "cloudflare"}, "cloudflare"),
        (429, [("CF-RAY", "8a1b2c3d4e5f6789-HAN")], "cloudflare"),
        (403, [("Set-Cookie", "visid_incap_2734=Ab3; path=/"), ("Set-Cookie", "incap_ses_1=x")], "imperva"),
        (403, {"x-cdn": "Incapsula"}, "imperva"),
        (403, [("server", "AkamaiGHost")], "akamai"),
        (403, [("Set-Cookie", "JSESSIONID=1; Path=/, TS01a2b3c4=01f2e3; Path=/")], "f5"),
        (429, {"x-sucuri-id": "14013"}, "sucuri"),
        (403, {"Server": "awselb/2.0"}, "aws"),
        (403, {"Server": "ddos-guard"}, "ddos-guard"),
        (403, {"server": "Apache/2.4.41 (Ubuntu) mod_security/2.9"}, "modsecurity"),
        ("403", {b"Server": b"cloudflare"}, "cloudflare"),  # a status read from a CSV, headers as raw bytes
    ],
)
def test_a_refusal_with_only_a_vendors_header_is_a_waf_wall(status, headers, vendor):
    wall = wall_of(status, headers, b"")
    assert wall is not None and (wall.kind, wall.vendor) == ("waf", vendor)
    assert wall_of(200, headers, "<html><body>Trang chủ</body></html>") is None


def test_httpx_headers_are_read():
    httpx = pytest.importorskip("httpx")
    headers = httpx.Headers([("Server", "nginx"), ("Server", "cloudflare"), ("CF-Mitigated", "challenge")])
    assert wall_of(403, headers, b"") == Wall("challenge", "cloudflare", "cf-mitigated: challenge")


WEIRD = [
    (None, None, None),
    (object(), object(), object()),
    (True, "cf-ray: 1", 403),
    (10**30, [("server", "cloudflare")], float("nan")),
    (403.0, [("cf-ray",), ("a", "b", "c"), None, 5, ("cf-ray", None)], bytearray(b"\x00" * 100)),
    ("abc", {None: None, 1: 2}, memoryview(b"<html>")),
    (-1, [(b"\xff\xfe", b"\xff")], "\ud800\udfff lone surrogates <title>Just a moment...</title>"),
    ("²03", iter([("server", "cloudflare")]), b"<meta http-equiv=refresh content='0;url=http://[::1'>"),
    (403, {"location": "http://[::1/__challenge"}, "<form><input name=captcha></form>" * 3),
]


@pytest.mark.parametrize("status, headers, body", WEIRD)
def test_no_input_makes_it_raise(status, headers, body):
    wall = wall_of(status, headers, body)
    assert wall is None or wall.kind in bot_walls.KINDS


def test_random_bytes_and_mangled_wall_pages_never_raise():
    rng = random.Random(20250701)
    pages = [CF_MANAGED_CHALLENGE, IMPERVA_BLOCKED, TESTCOOKIE, RECAPTCHA, AKAMAI, META_REFRESH]
    for _ in range(300):
        page = rng.choice(pages).encode()
        cut = rng.randrange(len(page))
        body = page[:cut] + rng.randbytes(rng.randrange(64)) + page[cut + rng.randrange(32) :]
        wall_of(rng.choice([200, 403, 429, 503, None]), rng.choice([None, CF, {"x": "y"}]), body)
    for _ in range(100):
        wall_of(rng.randrange(600), None, rng.randbytes(rng.randrange(5000)))


def test_a_plain_refusal_is_not_a_wall_but_a_vendors_is():
    assert wall_of(403, [HTML], NGINX_403) is None
    assert wall_of(403, CF, NGINX_403) == Wall("waf", "cloudflare", "cf-ray: 8a1b2c3d4e5f6789-SIN")


# ----------------------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    "location, vendor",
    [
        ("/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1b", "cloudflare"),
        ("https://dichvucong.example.gov.vn/vi/?__cf_chl_rt_tk=Qm9.1720000000-1.0.1.1-abc", "cloudflare"),
        ("/_Incapsula_Resource?SWJIYLWA=719d34d31c8e3a6e6fffd425f7e032f3", "imperva"),
        ("/.well-known/ddos-guard/check?context=free_splash", "ddos-guard"),
        ("/__challenge?next=%2F", "unknown"),
        (b"/__CHALLENGE", "unknown"),
    ],
)
def test_a_redirect_into_a_challenge_path_is_a_challenge(location, vendor):
    wall = challenge_redirect(location)
    assert wall is not None and (wall.kind, wall.vendor) == ("challenge", vendor)


@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        "   ",
        "/vi/trang-chu",
        "https://hanoi.example.gov.vn/",
        "https://challenge.example.gov.vn/cdn-cgi/",  # the word in a host name is not a challenge path
        "http://[::1",
        "/tin-tuc?q=cloudflare+challenge",
        12345,
    ],
)
def test_an_ordinary_redirect_is_not_a_challenge(location):
    assert challenge_redirect(location) is None


# ------------------------------------------------------------------------------------------ the Wall


def test_evidence_is_one_short_line_and_the_reason_names_kind_and_vendor():
    wall = Wall("waf", "cloudflare", "Attention\r\n Required!\x00 " + "x" * 500)
    assert len(wall.evidence) == EVIDENCE_CHARS and "\n" not in wall.evidence and "\x00" not in wall.evidence
    assert wall.evidence.startswith("Attention Required! xxx")
    assert Wall("waf", "cloudflare", "Attention Required!").reason() == "blocked: waf (cloudflare): Attention Required!"


# ------------------------------------------------------------------------------------ the rules file


def _rules_file(tmp_path, old: str, new: str):
    text = bot_walls.RULES_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bot_walls.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('example: "Protected by VNIS"', 'example: "Protected by VNETWORK"', "does not match its example"),
        ("        where: small\n", "        wher: small\n", "keys"),
        ("kind: captcha", "kind: puzzle", "is not one of"),
        ("max_bytes: 49152", "max_bytes: 65536", "below body_window"),
        ('"app-root", ', '"app-root[", ', "not a CSS selector"),
    ],
)
def test_a_malformed_rules_file_is_refused_when_loaded(tmp_path, old, new, message):
    with pytest.raises(ValueError, match=message):
        rules(_rules_file(tmp_path, old, new))


def test_the_rules_file_is_read_once():
    assert rules() is rules()


# ---------------------------------------------------------------------------------- simulator's walls

SIMULATOR_KINDS = {
    "js_challenge": "challenge",
    "waf_403": "waf",
    "waf_429": "waf",
    "waf_503": "waf",
    "captcha": "captcha",
}


def test_the_simulator_offers_the_wall_kinds_tested_here():
    assert set(WALL_KINDS) == set(SIMULATOR_KINDS)
    with pytest.raises(ValueError):
        wall_response("cloudflare")


@pytest.mark.parametrize("kind", WALL_KINDS)
def test_every_simulated_wall_is_recognised_and_is_not_content(kind):
    status, headers, body = wall_response(kind)
    assert status == {"js_challenge": 200, "waf_403": 403, "waf_429": 429, "waf_503": 503, "captcha": 200}[kind]
    assert any(name.lower() == "content-type" and "text/html" in value for name, value in headers)
    wall = wall_of(status, headers, body)
    assert wall is not None and wall.kind == SIMULATOR_KINDS[kind]
    assert wall_of(status, dict(headers), body.decode()) == wall  # the same in any form
    facts = page_facts(body.decode("utf-8"), "http://127.0.0.1:8000/hanoi/", load_keywords())
    assert facts.found == {} and facts.search_form is None  # nothing in it a reader could credit the portal with
    assert all(urlsplit(link).hostname != "127.0.0.1" for link in facts.links)


def test_the_simulated_javascript_challenge_is_passed_by_its_cookie_and_recognised_without_vendor_marks():
    status, headers, body = wall_response("js_challenge")
    text = body.decode()
    assert f'document.cookie = "{CHALLENGE_COOKIE}=ok; path=/"' in text and "location.reload()" in text
    assert text.index("document.cookie") < text.index("location.reload()")
    bare = text.replace("Just a moment...", "Chờ một chút").replace("_cf_chl_opt", "_opt")
    assert wall_of(status, [HTML], bare) == Wall("challenge", "unknown", wall_of(status, [HTML], bare).evidence)
    assert "document.cookie" in wall_of(status, [HTML], bare).evidence


ORDINARY_PAGES_WITH_WALL_WORDS = {
    "a root page that remembers the language and moves on": """<!DOCTYPE html><html lang="vi"><head>
<meta charset="utf-8"><title>Cổng thông tin điện tử tỉnh Hà Giang</title><script>
var lang = (navigator.language || 'vi').substring(0,2); document.cookie = "ngonngu=" + lang + "; path=/";
window.location.href = "/vi/trang-chu.html";</script></head><body><p>Đang chuyển đến trang chủ...</p>
<a href="/vi/trang-chu.html">bấm vào đây</a></body></html>""",
    "a splash page with a cookie banner that reads the location": """<!DOCTYPE html><html lang="vi"><head>
<meta charset="utf-8"><title>UBND huyện</title></head><body><a href="/portal/home">VÀO TRANG CHỦ</a>
<div id="cookie-bar">Trang web sử dụng cookie.</div><script>function ok(){document.cookie="cookie_ok=1;path=/";}
if (window.location.protocol !== 'https:') { /* stats */ }</script></body></html>""",
    "a small page whose footer names its anti-DDoS provider": """<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8"><title>Ha Giang Portal - English</title></head><body><h1>Welcome</h1>
<p>Ha Giang province, contacts and organisation.</p><footer>Anti-DDoS: VNIS (vnis.vn)</footer></body></html>""",
    "an app shell whose loader says just a moment": """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Dịch vụ công</title></head><body><app-root><div class="loader">Just a moment...</div></app-root>
<script src="/main.js"></script><script src="/polyfills.js"></script></body></html>""",
}


@pytest.mark.parametrize("name", sorted(ORDINARY_PAGES_WITH_WALL_WORDS))
def test_ordinary_pages_with_a_walls_words_are_no_walls(name):
    assert wall_of(200, [], ORDINARY_PAGES_WITH_WALL_WORDS[name].encode()) is None
