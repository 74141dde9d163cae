"""The domain reference: docs/domain.md and docs/domain.uk.md say the same, agree with the code, and the
portal shows them to anyone at /reference/, linked from every cabinet page and from admin's upload."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.utils import translation

from accounts.importing import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, BadRow, read_master_data
from accounts.tests.factories import UserFactory
from botbridge import texts
from portal import reference
from readings import selectors

ROOT = Path(__file__).resolve().parents[2]
DOCS = {language: (ROOT / "docs" / name).read_text(encoding="utf-8") for language, name in reference.DOCS.items()}
EXAMPLE = (ROOT / "docs" / reference.EXAMPLE_CSV).read_text(encoding="utf-8")


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table of `text`: its rows (the header first), each a list of cells."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|(\s*-+\s*\|)+", line):
                current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def code_spans(text: str) -> list[str]:
    return sorted(re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)))


def page(client, language: str) -> str:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get("/reference/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_two_languages_have_the_same_sections_tables_and_literal_values():
    uk, en = DOCS["uk"], DOCS["en"]
    heading_levels = [re.findall(r"^(#+) ", text, flags=re.MULTILINE) for text in (uk, en)]
    assert heading_levels[0] == heading_levels[1]
    assert [len(table) for table in tables(uk)] == [len(table) for table in tables(en)]
    assert code_spans(uk) == code_spans(en)  # formats, settings, labels, columns: word for word


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_window_examples_are_the_windows_the_portal_computes(db, language):
    [examples] = [table for table in tables(DOCS[language]) if table[1][0] == "2026-06-01"]
    for period, span in examples[1:]:
        opens, closes = span.split(" … ")
        window = selectors.window_for_period(dt.date.fromisoformat(period))
        assert (window.opens.isoformat(), window.closes.isoformat()) == (opens, closes), period


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_csv_columns_are_the_importers_and_the_example_imports_cleanly(language):
    [columns] = [table for table in tables(DOCS[language]) if table[1][0] == "`account_number`"]
    documented = {row[0].strip("`"): row[1] in ("yes", "так") for row in columns[1:]}
    assert documented == {name: name in REQUIRED_COLUMNS for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}

    [example] = re.findall(r"^```csv\n(.*?)^```", DOCS[language], flags=re.DOTALL | re.MULTILINE)
    assert example == EXAMPLE  # the downloadable file is the page's example
    rows = list(read_master_data(EXAMPLE.splitlines(keepends=True)))
    assert len(rows) == 3
    assert not [row for row in rows if isinstance(row, BadRow)]


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_bot_labels_are_the_bots_own(language):
    [buttons] = [table for table in tables(DOCS[language]) if table[1][0].startswith("`Додати")]
    with translation.override("uk"):
        menu = [f"`{label}`" for label in (texts.MENU_ADD, texts.MENU_ACCOUNTS, texts.MENU_HELP, texts.MENU_SIGNIN)]
        cancel = f"`{texts.CANCEL}`"
    assert [row[0] for row in buttons[1:]] == menu
    assert cancel in DOCS[language]


def test_anyone_reads_the_reference_in_their_language_with_the_portals_window(db, client):
    uk = page(client, "uk")
    assert "<h1>Показник: показання, вікно подачі й дані рахунків</h1>" in uk
    assert "На цьому порталі вікно рахують у робочих днях: 2 наприкінці місяця й 3 на початку наступного." in uk
    assert '<a href="#дані-рахунків-і-лічильників-csv">Дані рахунків і лічильників (CSV)</a>' in uk
    assert "<code>Додати особовий рахунок</code>" in uk
    en = page(client, "en")
    assert "<h1>Pokaznyk: readings, the window and master data</h1>" in en
    assert "On this portal the window is counted in working days: 2 at the end of a month and 3" in en
    assert '<h2 id="master-data-csv">Master data CSV</h2>' in en
    assert '<div class="scroll"><table>' in en  # wide tables scroll on a phone


def test_the_reference_shows_the_window_rule_this_portal_is_set_to(db, client, settings):
    settings.READINGS_WINDOW_DAYS, settings.READINGS_WINDOW_BEFORE = "calendar", 3
    assert "вікно рахують у календарних днях: 3 наприкінці місяця й 3" in page(client, "uk")


def test_every_cabinet_page_links_to_the_reference(db, client):
    for path in ("/signin/", "/quick/"):
        assert 'href="/reference/"' in client.get(path).content.decode()


def test_the_example_csv_downloads_as_the_file(db, client):
    response = client.get("/reference/master-data-example.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="master-data-example.csv"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode() == EXAMPLE


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_admin_upload_links_to_the_csv_section_of_the_reference(db, client, language):
    supervisor = UserFactory(username="supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(supervisor)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    form = client.get("/admin/accounts/masterdataupload/add/").content.decode()
    [href] = re.findall(r'<a href="(/reference/#[^"]+)" target="_blank"', form)
    anchor = href.split("#")[1]
    assert f'id="{anchor}"' in page(client, language)
    assert "DOMAIN.md" not in form


def test_raw_html_in_a_doc_is_shown_as_text(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n## Part\n\n<script>alert(1)</script> [x](javascript:alert(1))\n", encoding="utf-8")
    rendered = reference._rendered(str(doc), 0)
    assert rendered.title == "Title"
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert 'href="javascript' not in rendered.html
