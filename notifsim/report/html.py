"""The HTML primitives of the report: escaping, tables, embedded figures and the page itself.

Everything a reader sees comes through :func:`esc` or :func:`table`, which
escape every value; figures are PNG images embedded as ``data:`` URIs; the
page carries its own stylesheet and no script, so it needs no network and no
JavaScript.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any


def esc(value: object) -> str:
    """``value`` as text safe inside HTML elements and attribute values."""
    return html.escape(str(value), quote=True)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[bool] | None = None, caption: str | None = None) -> str:
    """An HTML table; every header and cell is escaped; ``numeric`` columns are right-aligned."""
    align = list(numeric) if numeric is not None else [False] * len(header)
    head = "".join(f'<th class="{"num" if align[i] else "txt"}">{esc(h)}</th>' for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"num" if align[i] else "txt"}">{esc(c)}</td>' for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def figure(fig: Any, alt: str, caption: str) -> str:
    """A matplotlib Figure as an embedded PNG (``data:image/png;base64``) with its caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<figure><img class="plot" src="data:image/png;base64,{data}" alt="{esc(alt)}"><figcaption>{esc(caption)}</figcaption></figure>'


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def items(texts: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts) + "</ul>"


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d1d1d; background: #fff;
       max-width: 1100px; margin: 0 auto; padding: 1.5em 1.2em 4em; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072B2; padding-bottom: 0.15em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.lead { color: #444; margin-top: 0; }
nav ol { columns: 2; padding-left: 1.2em; }
a { color: #0063a0; }
.scroll { overflow-x: auto; margin: 0.6em 0 1em; }
table { border-collapse: collapse; font-size: 0.86em; }
caption { text-align: left; color: #444; padding-bottom: 0.3em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e2e2e2; vertical-align: top; }
th { background: #f3f6f9; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1em 0 1.6em; }
img.plot { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
details { margin: 0.6em 0; }
summary { cursor: pointer; color: #0063a0; }
.note { background: #f6f8fa; border-left: 4px solid #0072B2; padding: 0.5em 0.9em; }
footer { margin-top: 3em; color: #666; font-size: 0.85em; }
"""


def page(title: str, lead: str, sections: Sequence[tuple[str, str, str]], footer: str) -> str:
    """The whole document: ``sections`` are ``(anchor, title, body HTML)``, listed in a table of contents."""
    contents = "".join(f'<li><a href="#{esc(anchor)}">{esc(name)}</a></li>' for anchor, name, _ in sections)
    body = "".join(section(anchor, name, html_body) for anchor, name, html_body in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f'<body><header><h1>{esc(title)}</h1><p class="lead">{esc(lead)}</p>'
        f"<nav><ol>{contents}</ol></nav></header>{body}"
        f"<footer>{esc(footer)}</footer></body></html>\n"
    )
