"""A small self-contained HTML report: headings, text, sortable tables, figures embedded as PNG.

The file needs no network and no other file: figures are base64 ``data:`` URIs,
the style sheet and the few lines of table-sorting script are inline. The layout
reads on a phone (tables scroll sideways, images shrink to the screen) and on a
laptop. Click a column header to sort by it (numbers as numbers; click again to
reverse).

Examples
--------
>>> import pandas as pd
>>> page = HtmlReport("Leaderboard")
>>> page.paragraph("Estimators <scored> against the truth.")
>>> page.table(pd.DataFrame({"estimator": ["aipw", "naive"], "rmse": [0.41, 19.5]}), caption="icecream")
>>> text = page.render()
>>> "&lt;scored&gt;" in text, text.count("<tr>"), "sortable" in text
(True, 3, True)
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["HtmlReport", "png_data_uri"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:68rem;
padding:0.8rem;line-height:1.45;color:#1d1d1f;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #ddd}h3{font-size:1.05rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:0.6rem 0}
table{border-collapse:collapse;font-size:0.85rem;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:0.2rem 0}
th,td{padding:0.25rem 0.55rem;border-bottom:1px solid #e4e4e4;white-space:nowrap}
td.num{text-align:right}th{background:#f4f4f6;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";color:#aaa}
tr:hover td{background:#fafaf0}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:0.85rem;color:#555}
pre{background:#f6f8fa;padding:0.6rem;overflow-x:auto;font-size:0.8rem}
"""

# Sort a table by the clicked column: numbers numerically, text alphabetically; again to reverse.
_JS = """
document.querySelectorAll("table.sortable th").forEach(function(th){th.addEventListener("click",function(){
var t=th.closest("table"),b=t.tBodies[0],i=Array.prototype.indexOf.call(th.parentNode.children,th);
var up=th.dataset.dir!=="asc";th.dataset.dir=up?"asc":"desc";
var key=function(r){var c=r.children[i];var v=c.dataset.v!==undefined?c.dataset.v:c.textContent;
var x=parseFloat(v);return isNaN(x)?v.toLowerCase():x;};
Array.from(b.rows).sort(function(p,q){var a=key(p),c=key(q);
if(typeof a!==typeof c){a=String(a);c=String(c);}return (a<c?-1:a>c?1:0)*(up?1:-1);})
.forEach(function(r){b.appendChild(r);});});});
"""


def png_data_uri(image: Any, *, dpi: float = 100) -> str:
    """A ``data:image/png;base64,...`` URI of a matplotlib figure, PNG bytes or a PNG file."""
    if hasattr(image, "savefig"):
        buf = io.BytesIO()
        image.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        data = buf.getvalue()
    elif isinstance(image, (bytes, bytearray)):
        data = bytes(image)
    else:
        data = Path(image).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _cell(value: Any, fmt: Callable[[Any], str] | str | None) -> tuple[str, str | None, bool]:
    """Shown text, sort key (for numbers) and whether the cell is numeric."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if callable(fmt):
        text = fmt(value)
    elif isinstance(fmt, str) and number:
        text = "" if isinstance(value, float) and math.isnan(value) else format(value, fmt)
    elif number and isinstance(value, float):
        text = "" if math.isnan(value) else f"{value:.4g}"
    else:
        text = str(value)
    key = repr(float(value)) if number and not (isinstance(value, float) and math.isnan(value)) else None
    return text, key, number


class HtmlReport:
    """Build a self-contained HTML page piece by piece; :meth:`write` saves it.

    Parameters
    ----------
    title : str
        The page's title and first heading.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str, level: int = 2) -> None:
        """A section heading (``level`` 2 to 4)."""
        level = min(max(int(level), 2), 4)
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str) -> None:
        """A paragraph of plain text (escaped)."""
        self._parts.append(f"<p>{html.escape(text)}</p>")

    def code(self, text: str) -> None:
        """Preformatted text (a command, a JSON manifest)."""
        self._parts.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, frame: Any, *, caption: str | None = None, sortable: bool = True,
              formats: Mapping[str, Callable[[Any], str] | str] | None = None) -> None:
        """A pandas DataFrame as a table (index dropped); numbers right-aligned and sortable.

        ``formats`` maps a column to a format spec (``".3f"``) or a function of the value.
        """
        formats = dict(formats or {})
        cols = [str(c) for c in frame.columns]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        rows = []
        for values in frame.itertuples(index=False, name=None):
            cells = []
            for c, v in zip(cols, values, strict=True):
                text, key, number = _cell(v, formats.get(c))
                attrs = (' class="num"' if number else "") + (f' data-v="{key}"' if key else "")
                cells.append(f"<td{attrs}>{html.escape(text)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cls = ' class="sortable"' if sortable else ""
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(f'<div class="scroll"><table{cls}>{cap}<thead><tr>{head}</tr></thead>'
                           f"<tbody>{''.join(rows)}</tbody></table></div>")

    def figure(self, image: Any, *, caption: str = "", alt: str | None = None) -> None:
        """A figure (matplotlib Figure, PNG bytes or PNG path) embedded as a data URI."""
        uri = png_data_uri(image)
        alt_text = html.escape(alt if alt is not None else caption or "figure", quote=True)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img src="{uri}" alt="{alt_text}">{cap}</figure>')

    def render(self) -> str:
        """The whole page as text."""
        body = "\n".join(self._parts)
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n"
                f"<script>{_JS}</script>\n</body></html>\n")

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8), creating missing folders."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
