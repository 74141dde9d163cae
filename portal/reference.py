"""The domain reference (docs/domain.md, docs/domain.uk.md) as a public page of the portal.

Staff who load master data, residents and billing read it here: they have no access to the
repository. The Markdown files stay the one source, readable in the repository as they are, and
are rendered by markdown-it-py (CommonMark, pinned): raw HTML in them is escaped, not passed on.
"""

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from readings.views import window_banner

DOCS = {"uk": "domain.uk.md", "en": "domain.md"}
EXAMPLE_CSV = "master-data-example.csv"  # the reference's example master-data file, as staff download it


@dataclass(frozen=True)
class Reference:
    title: str  # the document's first-level heading, the page's own
    html: SafeString
    sections: tuple[tuple[str, str], ...]  # (id, title) of each second-level heading, in order


@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    context = {
        "reference": reference_for(get_language()),
        "window_days": settings.READINGS_WINDOW_DAYS,
        "window_before": settings.READINGS_WINDOW_BEFORE,
        "window_after": settings.READINGS_WINDOW_AFTER,
        "nav": "reference",
        **window_banner(),
    }
    return render(request, "cabinet/reference.html", context)


@require_GET
def example_csv(request: HttpRequest) -> FileResponse:
    path = Path(settings.BASE_DIR) / "docs" / EXAMPLE_CSV
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=EXAMPLE_CSV, content_type="text/csv; charset=utf-8"
    )


def master_data_help_text() -> SafeString:
    """The admin upload's help: the file's format in a line, and a link to the reference's section on it."""
    # The section's anchor is its heading's slug in each language (a test holds it to the page's ids).
    url = reverse("reference") + "#" + _("master-data-csv")
    return format_html(
        _("UTF-8, a header row, one row per meter: the columns are described in the {start}reference{end}."),
        start=format_html('<a href="{}" target="_blank" rel="noopener">', url),
        end=mark_safe("</a>"),
    )


def reference_for(language: str | None) -> Reference:
    path = Path(settings.BASE_DIR) / "docs" / DOCS.get(language or "", DOCS["en"])
    # Keyed by the file's mtime: an edited doc shows on the next request, without a restart.
    return _rendered(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _rendered(path: str, _mtime_ns: int) -> Reference:
    # Imported here, not at the top: the URLconf imports this module, and start-up need not pay for it.
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # Wide tables scroll inside their box on a phone instead of widening the page.
    md.add_render_rule("table_open", lambda *args: '<div class="scroll"><table>\n')
    md.add_render_rule("table_close", lambda *args: "</table></div>\n")
    tokens = md.parse(Path(path).read_text(encoding="utf-8"))
    title = ""
    if tokens and tokens[0].tag == "h1":
        title, tokens = tokens[1].content, tokens[3:]  # heading_open, inline, heading_close
    sections = []
    for heading, inline in itertools.pairwise(tokens):
        if heading.type == "heading_open":
            # The ids GitHub gives the same headings, so one anchor works in both places.
            anchor = slugify(inline.content.replace("`", ""), allow_unicode=True)
            heading.attrSet("id", anchor)
            if heading.tag == "h2":
                sections.append((anchor, inline.content))
    html = md.renderer.render(tokens, md.options, {})
    return Reference(title=title, html=mark_safe(html), sections=tuple(sections))  # noqa: S308 - our file, its HTML escaped
