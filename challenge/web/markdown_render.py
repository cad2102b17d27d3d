"""Markdown to HTML for text written by hosts: raw HTML escaped, the result sanitised by nh3.

Markdown converts; `nh3` (the Rust `ammonia` sanitiser) then keeps only an allow-list of tags and
attributes. It parses the HTML as a browser does, so a URL is judged after entity decoding and
whitespace removal (`javascript&#58;`, `&#x6A;avascript:`, `java&#x09;script:` are all
`javascript:`): only http, https, mailto and relative URLs survive.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

URL_SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
}
_ALIGN = {f"text-align: {side};" for side in ("left", "right", "center")}
ATTRIBUTE_VALUES = {"th": {"style": _ALIGN}, "td": {"style": _ALIGN}}
"""Table cells keep only the alignment styles that Markdown's tables write."""

_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    tag_attribute_values={tag: dict(values) for tag, values in ATTRIBUTE_VALUES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


class _DemoteHeadings(Treeprocessor):
    """Headings start at h2: the page's own title is its only h1."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            if element.tag in ("h1", "h2", "h3", "h4", "h5"):
                element.tag = f"h{int(element.tag[1]) + 1}"


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_DemoteHeadings(md), "demote_headings", 0)
    return md


def sanitize_html(html: str) -> str:
    """Keep the allow-listed tags, attributes and URL schemes of an HTML fragment."""
    return _CLEANER.clean(html)


def render_markdown(text: str) -> Markup:
    """Safe HTML of a Markdown text: raw HTML shows as text, headings start at h2."""
    return Markup(sanitize_html(_converter().convert(text or "")))
