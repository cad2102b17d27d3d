"""Markdown to HTML for descriptions written by hosts: raw HTML escaped, unsafe links dropped."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import markdown
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _safe_url(url: str) -> bool:
    """Absolute http(s)/mailto links, or links inside the site (paths and anchors)."""
    lowered = url.strip().lower()
    if lowered.startswith(SAFE_SCHEMES):
        return True
    return ":" not in lowered.split("/", 1)[0] and not lowered.startswith("//")


class _DropUnsafeUrls(Treeprocessor):
    """Remove `href` and `src` attributes whose scheme could run script."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _safe_url(value):
                    del element.attrib[attribute]


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
    md.treeprocessors.register(_DropUnsafeUrls(md), "drop_unsafe_urls", 1)
    md.treeprocessors.register(_DemoteHeadings(md), "demote_headings", 0)
    return md


def render_markdown(text: str) -> Markup:
    """HTML of a Markdown text: raw HTML shows as text, headings start at h2."""
    return Markup(_converter().convert(text or ""))
