"""English and Dutch: every string has a Dutch translation, each request gets the language of its
user (else of its browser), and money and dates are written the way that language writes them."""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal import i18n
from portal.templating import day, moment, money
from tests.conftest import csrf_from, login

ROOT = Path(__file__).resolve().parents[2]
BABEL_CFG = ROOT / "babel.cfg"
DUTCH_PO = i18n.TRANSLATIONS_DIR / "nl" / "LC_MESSAGES" / "messages.po"
# The same keywords as `make messages`: the gettext defaults plus the domain's N_.
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
# A placeholder, an escaped "%%", or a lone "%" (which would break Jinja's newstyle gettext, as it
# always %-formats): a translation must carry exactly the ones of its source.
PERCENT = re.compile(r"%(?:\(\w+\))?.?")

T = TypeVar("T")


def extracted_messages() -> dict[str, list[str]]:
    """Every msgid in the source tree, with where it is used — what pybabel extract finds."""
    with BABEL_CFG.open() as fh:
        # The parser pybabel itself uses, so per-section options (keywords, silent) mean the same.
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))  # type: ignore[no-untyped-call]
    # Walk only the folders babel.cfg maps; node_modules and friends are large and irrelevant.
    roots = {pattern.split("/", 1)[0] for pattern, _method in method_map}

    def in_mapped_folder(path: str) -> bool:
        return Path(path).relative_to(ROOT).parts[0] in roots

    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=in_mapped_folder
    ):
        # A plural message is one catalogue entry, found by its singular.
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    forms = (string,) if isinstance(string, str) or string is None else tuple(string)
    return all(form and form.strip() for form in forms)


def dutch_catalogue() -> Catalog:
    with DUTCH_PO.open("rb") as fh:
        return read_po(fh, locale="nl")


def placeholders(text: str) -> list[str]:
    return sorted(PERCENT.findall(text))


def in_language(language: str, render: Callable[[], T]) -> T:
    """Run ``render`` as a request in ``language`` would, without leaking the language."""

    def run() -> T:
        i18n.set_language(language)
        return render()

    return contextvars.copy_context().run(run)


# --- The catalogue covers the source ---------------------------------------------------------


def test_extraction_finds_template_domain_and_portal_strings():
    messages = extracted_messages()
    assert "Sign in to Atrium" in messages  # a template's _()
    assert "Enter a name." in messages  # the domain's N_()
    assert "This field is required." in messages  # N_() in the portal
    assert "Sign in first." in messages  # the portal's _()


def test_every_message_has_a_dutch_translation():
    catalogue = dutch_catalogue()
    missing = [
        f"{msgid!r} (used at {', '.join(places)})"
        for msgid, places in sorted(extracted_messages().items())
        if (entry := catalogue.get(msgid)) is None or not translated(entry.string)
    ]
    assert not missing, (
        f"{len(missing)} message(s) have no Dutch translation; run `make messages` and translate "
        f"them in {os.path.relpath(DUTCH_PO, ROOT)}:\n" + "\n".join(missing)
    )


def test_no_dutch_translation_is_fuzzy():
    catalogue = dutch_catalogue()
    assert not catalogue.fuzzy, "the catalogue header is marked fuzzy"
    fuzzy = [entry.id for entry in catalogue if entry.id and entry.fuzzy]
    assert not fuzzy, "fuzzy translations (check them, then drop the flag):\n" + "\n".join(
        map(repr, fuzzy)
    )


def test_translations_keep_the_placeholders_of_their_source():
    wrong = [
        f"{entry.id!r} -> {entry.string!r}"
        for entry in dutch_catalogue()
        if entry.id
        and entry.string
        and placeholders(str(entry.id)) != placeholders(str(entry.string))
    ]
    assert not wrong, "translations whose %(placeholders)s differ from the source:\n" + "\n".join(
        wrong
    )


def test_dutch_catalogue_declares_its_language_and_plural_forms():
    catalogue = dutch_catalogue()
    assert str(catalogue.locale) == "nl"
    assert catalogue.plural_forms == "nplurals=2; plural=(n != 1);"


def test_no_english_catalogue_is_needed():
    # English is the source language: its "translation" is the msgid itself.
    assert in_language("en", lambda: i18n.gettext("Sign in")) == "Sign in"
    assert in_language("nl", lambda: i18n.gettext("Sign in")) == "Aanmelden"
    assert in_language("nl", lambda: i18n.gettext("Not a message anyone marked")) == (
        "Not a message anyone marked"
    )


# --- Choosing a language from the browser --------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nl", "nl"),
        ("en", "en"),
        ("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", "nl"),
        ("en-GB,en;q=0.9,nl;q=0.8", "en"),
        ("nl-BE", "nl"),
        ("NL-be", "nl"),
        ("en;q=0.4,nl;q=0.9", "nl"),  # quality beats order
        ("nl;q=0.5, en;q=0.5", "nl"),  # equal quality: the first listed wins
        ("en, nl", "en"),
        (" nl-NL ; q=0.7 , en ; q=0.6", "nl"),
        ("fr-FR,fr;q=0.9,de;q=0.8,nl;q=0.3", "nl"),  # unsupported languages are skipped
        ("fr,de", "en"),
        ("nl;q=0", "en"),  # q=0 means "not this one"
        ("nl;q=0,en;q=0", "en"),
        ("*", "en"),
    ],
)
def test_negotiate_picks_the_best_supported_language(header, expected):
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        ",,,;;;",
        ";q=1",
        "nl;q=abc",
        "nl;q=",
        "nl-;q=0.9x",
        "💥",
        "x-klingon;q=1.0",
        "q=0.9,",
        ",".join(["fr"] * 50 + ["nl"]),  # only the first 20 entries are read
        "nl" * 10_000,
    ],
)
def test_negotiate_falls_back_to_english_for_garbage(header):
    assert i18n.negotiate(header) == "en"


def test_negotiate_skips_a_bad_quality_but_keeps_the_rest():
    assert i18n.negotiate("en;q=high,nl;q=0.2") == "nl"


# --- Formats follow the language -----------------------------------------------------------


def test_money_is_written_the_dutch_or_english_way():
    assert in_language("nl", lambda: money(123456)) == "€\xa01.234,56"
    assert in_language("en", lambda: money(123456)) == "€1,234.56"
    assert in_language("nl", lambda: money(-500)) == "€\xa0-5,00"
    assert in_language("en", lambda: money(-500)) == "-€5.00"
    assert in_language("nl", lambda: money(None)) == ""


def test_dates_are_written_the_dutch_or_english_way():
    assert in_language("nl", lambda: day(date(2026, 3, 5))) == "5 mrt 2026"
    assert in_language("en", lambda: day(date(2026, 3, 5))) == "Mar 5, 2026"
    assert in_language("nl", lambda: day(date(2026, 3, 5), "long")) == "5 maart 2026"
    assert in_language("nl", lambda: moment(datetime(2026, 3, 5, 14, 30))) == "5 mrt 2026, 14:30:00"
    assert in_language("en", lambda: day(None)) == ""


# --- Pages in the reader's language ---------------------------------------------------------


async def test_anonymous_login_page_follows_accept_language(client):
    dutch = await client.get("/login", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert dutch.status_code == 200
    assert '<html lang="nl">' in dutch.text
    assert "Aanmelden bij Atrium" in dutch.text
    assert "Wachtwoord" in dutch.text
    assert "Sign in to Atrium" not in dutch.text

    english = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.text
    assert "Sign in to Atrium" in english.text
    assert "Aanmelden" not in english.text


async def test_login_page_without_accept_language_is_english(client):
    response = await client.get("/login")
    assert '<html lang="en">' in response.text
    assert "Sign in to Atrium" in response.text


async def test_wrong_password_is_reported_in_the_browsers_language(client, make_user):
    user = await make_user()
    client.headers["Accept-Language"] = "nl-BE,nl;q=0.9,en;q=0.5"
    response = await login(client, user.email, "not the password")
    assert response.status_code == 400
    assert "Het e-mailadres of wachtwoord is niet juist." in response.text


async def test_empty_login_form_is_reported_in_dutch(client):
    client.headers["Accept-Language"] = "nl"
    token = await csrf_from(client)
    response = await client.post("/login", data={"email": "", "password": "", "csrf_token": token})
    assert response.status_code == 400
    assert "Vul je e-mailadres in." in response.text
    assert "Vul je wachtwoord in." in response.text


async def test_a_dutch_user_sees_dutch_whatever_the_browser_says(client, make_user):
    user = await make_user(name="Ada Lovelace", language="nl")
    client.headers["Accept-Language"] = "en-US,en;q=0.9"
    assert (await login(client, user.email)).status_code == 303
    home = await client.get("/")
    assert home.status_code == 200
    assert '<html lang="nl">' in home.text
    assert "Welkom, Ada Lovelace" in home.text
    assert "Tijdlijn" in home.text
    assert "Vervallen facturen" in home.text
    assert "€\xa00,00" in home.text  # money on the page is Dutch too
    assert "Welcome" not in home.text


async def test_an_english_user_sees_english_whatever_the_browser_says(client, make_user):
    user = await make_user(name="Ada Lovelace", language="en")
    client.headers["Accept-Language"] = "nl"
    await login(client, user.email)
    home = await client.get("/")
    assert '<html lang="en">' in home.text
    assert "Welcome, Ada Lovelace" in home.text
    assert "€0.00" in home.text


async def test_changing_the_language_on_the_profile_switches_the_next_page(client, make_user):
    user = await make_user(name="Ada Lovelace")
    client.headers["Accept-Language"] = "en"
    await login(client, user.email)
    assert '<html lang="en">' in (await client.get("/profile")).text

    token = await csrf_from(client, "/profile")
    saved = await client.post(
        "/profile", data={"name": "Ada Lovelace", "language": "nl", "csrf_token": token}
    )
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert '<html lang="nl">' in page.text
    assert "Je profiel is opgeslagen." in page.text
    assert "Wachtwoord wijzigen" in page.text

    # Back to "the browser's language", which says English.
    token = await csrf_from(client, "/profile")
    saved = await client.post(
        "/profile", data={"name": "Ada Lovelace", "language": "", "csrf_token": token}
    )
    page = await client.get(saved.headers["location"])
    assert '<html lang="en">' in page.text
    assert "Your profile has been saved." in page.text


async def test_profile_validation_messages_are_dutch_for_a_dutch_user(client, make_user):
    user = await make_user(language="nl")
    client.headers["Accept-Language"] = "en"
    await login(client, user.email)
    token = await csrf_from(client, "/profile")

    too_long = await client.post(
        "/profile", data={"name": "x" * 201, "language": "nl", "csrf_token": token}
    )
    assert too_long.status_code == 422
    assert "Deze waarde is te lang." in too_long.text

    bad_language = await client.post(
        "/profile", data={"name": "Ada", "language": "fr", "csrf_token": token}
    )
    assert bad_language.status_code == 422
    assert "Kies Engels, Nederlands of de taal van de browser." in bad_language.text


async def test_password_validation_messages_are_dutch_for_a_dutch_user(client, make_user):
    user = await make_user(language="nl")
    await login(client, user.email)
    token = await csrf_from(client, "/profile")
    short = {"new_password": "short", "confirm_password": "short", "csrf_token": token}
    response = await client.post("/profile/password", data={**short, "current_password": "x"})
    assert response.status_code == 422
    assert "Gebruik minstens 10 tekens voor het wachtwoord." in response.text
    # (The current password is checked, and counted, only once the new one is acceptable.)
    wrong = {"new_password": "a much longer one", "confirm_password": "a much longer one"}
    response = await client.post(
        "/profile/password",
        data={**wrong, "current_password": "not the password", "csrf_token": token},
    )
    assert response.status_code == 422
    assert "Het huidige wachtwoord is niet juist." in response.text


async def test_error_pages_are_in_the_readers_language(client):
    client.headers["Accept-Language"] = "nl"
    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Niet gevonden" in missing.text
    assert "Naar de startpagina" in missing.text

    forged = await client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert forged.status_code == 403
    assert "Dit formulier is verlopen" in forged.text
