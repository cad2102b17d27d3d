"""Host Markdown cannot carry script: every spelling of a bad URL is dropped after decoding."""

from __future__ import annotations

import pytest

from challenge.web.markdown_render import render_markdown, sanitize_html
from tests.web.markup import unsafe_markup

DANGEROUS_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#0000058;alert(1)",
    "javascript&#x3a;alert(1)",
    "javascript&#X3A;alert(1)",
    "javascript&colon;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#x6a&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3a;alert(1)",
    "java&#x09;script:alert(1)",
    "java&#10;script:alert(1)",
    "java&#13;script:alert(1)",
    "java&Tab;script:alert(1)",
    "java&NewLine;script:alert(1)",
    "&#x20;javascript:alert(1)",
    "&#1;javascript:alert(1)",
    "%20javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "data&#58;text/html,x",
    "vbscript:msgbox(1)",
    "VBScript&#58;msgbox(1)",
]


@pytest.mark.parametrize("url", DANGEROUS_URLS)
@pytest.mark.parametrize(
    "template",
    [
        "[click]({url})",
        "[click][r]\n\n[r]: {url}",
        '[click]({url} "title")',
        "![img]({url})",
        "[![img](https://example.org/i.png)]({url})",
    ],
)
def test_no_encoding_of_a_script_url_survives(template: str, url: str) -> None:
    html = str(render_markdown("Read the rules.\n\n" + template.format(url=url)))
    assert unsafe_markup(html) == [], html


@pytest.mark.parametrize(
    "raw",
    [
        '<a href="javascript&#58;alert(1)">x</a>',
        '<a href="&#x6A;avascript:alert(1)">x</a>',
        '<a href=" java&#x09;script:alert(1)">x</a>',
        '<img src="x" onerror="alert(1)">',
        '<a href="https://example.org" onclick="alert(1)">x</a>',
        "<script>alert(1)</script>",
        '<iframe src="https://example.org"></iframe>',
        '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
        '<form action="javascript:alert(1)"><button>x</button></form>',
        '<td style="background:url(javascript:alert(1))">x</td>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    ],
)
def test_the_sanitiser_alone_refuses_raw_html(raw: str) -> None:
    """Even HTML that Markdown would never produce leaves the sanitiser harmless."""
    assert unsafe_markup(sanitize_html(raw)) == []


def test_ordinary_markdown_keeps_its_shape() -> None:
    html = str(
        render_markdown(
            "# Title\n\nSome **bold** and `code`.\n\n1. one\n2. two\n\n"
            "[site](https://example.org) [mail](mailto:host@example.org) [page](/competitions/x) "
            "[anchor](#data)\n\n![plot](https://example.org/p.png)\n\n"
            "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nx = 1\n```\n"
        )
    )
    assert "<h2>Title</h2>" in html and "<strong>bold</strong>" in html
    for href in ("https://example.org", "mailto:host@example.org", "/competitions/x", "#data"):
        assert f'href="{href}"' in html
    assert 'src="https://example.org/p.png"' in html
    assert '<th style="text-align: left;">a</th>' in html
    assert "<pre><code>x = 1\n</code></pre>" in html
    assert 'rel="noopener noreferrer nofollow"' in html
