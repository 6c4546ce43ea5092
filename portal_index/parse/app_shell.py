"""Is a page's static HTML only an app shell, whose content JavaScript builds?

Many public-service portals are single-page applications: the HTML a crawler receives is a mount
point (`<div id="app"></div>`, `<app-root>`), scripts and next to no text, and the menus, the
search box, the feedback link and the procedure lists are built in the browser from a JSON
endpoint. Extraction on such HTML finds nothing, so the page is rendered in headless Chromium
first (`portal_index.fetch.render`). `needs_render` says which pages need that, and why.

A page is a shell when it has an app root (an element with one of the usual mount ids, an AngularJS
`ng-app` attribute, Angular's `<app-root>`) or a `<noscript>` asking for JavaScript, together with
at least one script and little visible text. A server-rendered page with scripts and plenty of
text is not a shell, nor is an empty error page without scripts. The thresholds and names are data:
`templates/app_shell.yml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from selectolax.lexbor import LexborHTMLParser

from portal_index.core.text import fold

TEMPLATE = Path(__file__).parent / "templates" / "app_shell.yml"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ShellRules:
    visible_text_limit: int
    min_scripts: int
    app_root_ids: tuple[str, ...]
    app_root_attributes: tuple[str, ...]
    app_root_tags: tuple[str, ...]
    noscript_phrases: tuple[str, ...]  # folded
    hidden_tags: tuple[str, ...]
    code_script_types: frozenset[str]


@lru_cache(maxsize=4)
def load_rules(path: Path = TEMPLATE) -> ShellRules:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return ShellRules(
        visible_text_limit=int(raw["visible_text_limit"]),
        min_scripts=int(raw["min_scripts"]),
        app_root_ids=tuple(str(i) for i in raw["app_root_ids"]),
        app_root_attributes=tuple(str(a).lower() for a in raw["app_root_attributes"]),
        app_root_tags=tuple(str(t).lower() for t in raw["app_root_tags"]),
        noscript_phrases=tuple(fold(str(p)) for p in raw["noscript_phrases"]),
        hidden_tags=tuple(str(t).lower() for t in raw["hidden_tags"]),
        code_script_types=frozenset(str(t or "").lower() for t in raw["code_script_types"]),
    )


def _app_root(tree: LexborHTMLParser, rules: ShellRules) -> str | None:
    for root_id in rules.app_root_ids:
        if tree.css_first(f'[id="{root_id}"]') is not None:
            return f"#{root_id}"
    for attribute in rules.app_root_attributes:
        if tree.css_first(f"[{attribute}]") is not None:
            return f"[{attribute}]"
    for tag in rules.app_root_tags:
        if tree.css_first(tag) is not None:
            return f"<{tag}>"
    return None


def _scripts(tree: LexborHTMLParser, rules: ShellRules) -> int:
    """Scripts that run code: external, or inline with something in them."""
    count = 0
    for node in tree.css("script"):
        attributes = node.attributes
        kind = (attributes.get("type") or "").split(";")[0].strip().lower()
        if kind not in rules.code_script_types:
            continue
        if attributes.get("src") or (node.text(deep=True) or "").strip():
            count += 1
    return count


def _noscript_asks_for_javascript(tree: LexborHTMLParser, rules: ShellRules) -> bool:
    for node in tree.css("noscript"):
        text = fold(node.text(deep=True) or "")
        if any(phrase in text for phrase in rules.noscript_phrases):
            return True
    return False


def visible_text_length(tree: LexborHTMLParser, rules: ShellRules) -> int:
    """Characters of the body's text outside script, style, noscript and template (whitespace collapsed).
    Strips those elements from `tree`."""
    tree.strip_tags(list(rules.hidden_tags))
    body = tree.body
    text = body.text(deep=True, separator=" ") if body is not None else ""
    return len(_SPACES.sub(" ", text).strip())


def needs_render(html: str) -> str | None:
    """A short reason when the static HTML does not hold the page's content (an app shell), else None,
    e.g. "app root #app, 12 characters of visible text, 2 scripts"."""
    if not html:
        return None
    rules = load_rules()
    tree = LexborHTMLParser(html)
    scripts = _scripts(tree, rules)
    if scripts < rules.min_scripts:
        return None
    root = _app_root(tree, rules)
    noscript = _noscript_asks_for_javascript(tree, rules)
    if root is None and not noscript:
        return None
    chars = visible_text_length(tree, rules)
    if chars >= rules.visible_text_limit:
        return None
    marks = ([f"app root {root}"] if root else []) + (["noscript asks for JavaScript"] if noscript else [])
    return f"{', '.join(marks)}, {chars} characters of visible text, {scripts} script{'s' if scripts != 1 else ''}"
