"""Translations: the dashboard and the link page in German (the browser's language or the
chooser's cookie), English by default; the committed catalogue matches its source table."""

from __future__ import annotations

import gettext
import importlib.util
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.dashboard.helpers import make_team, sign_in

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"


def test_the_compiled_german_catalogue_has_every_text_of_the_table() -> None:
    spec = importlib.util.spec_from_file_location("de_texts", LOCALE / "de" / "translations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(LOCALE / "de" / "LC_MESSAGES" / "django.mo", "rb") as f:
        catalogue = gettext.GNUTranslations(f)
    po = (LOCALE / "de" / "LC_MESSAGES" / "django.po").read_text()
    for msgid, text in module.DE.items():
        if f'msgid "{msgid}"' not in po:
            continue  # a text no page uses any more (long ones are split over lines: checked below)
        if isinstance(text, tuple):
            assert catalogue.ngettext(msgid, msgid, 1) == text[0], msgid
        else:
            assert catalogue.gettext(msgid) == text, msgid
    po = (LOCALE / "de" / "LC_MESSAGES" / "django.po").read_text()
    assert 'msgstr ""\n\n' not in po.split("\n\n", 1)[1], "an untranslated text in django.po"
    assert "fuzzy" not in po, "a fuzzy text in django.po (gettext ignores it)"


def test_the_language_chooser_switches_the_dashboard_to_german() -> None:
    team = make_team("Laden")
    client = Client()
    sign_in(client, team.owner)
    assert ">Home</h1>" in client.get("/dashboard/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    page = client.get("/dashboard/").content.decode()
    assert ">Übersicht</h1>" in page and "Einrichtung" in page and '<html lang="de">' in page
    # an unknown language or a foreign next URL changes nothing harmful
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "https://evil.example/"})
    assert response.status_code in (302, 204) and "evil.example" not in response.get("Location", "")


def test_the_link_page_speaks_the_browsers_language() -> None:
    from linkpay.services import link_create_custodial
    from tests.dashboard.helpers import make_payment

    team = make_team("Buchladen")
    make_payment(team.address, wei=10**18)
    issued = link_create_custodial(merchant_id=team.merchant.pk, amount=10**17, asset="wei")
    path = f"/l/{issued.link.public_id}"
    german = Client().get(path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de">' in german and "hat Ihnen" in german and "Bereit zum Einlösen" in german
    assert "Prüfen Sie die Adresse" in german and '"sending": "Wird gesendet \\u2026"' in german
    assert "Keine Wallet?" in german and "In eine Spoke Card einlösen" in german
    english = Client().get(path).content.decode()
    assert "Redeem into a Spoke Card" in english
    assert "sent you" in english and "Ready to claim" in english and '"sending": "Sending\\u2026"' in english
    assert issued.secret not in german + english


def test_the_remaining_dashboard_pages_speak_german() -> None:
    team = make_team("Laden")
    client = Client()
    sign_in(client, team.owner)
    client.post("/i18n/setlang/", {"language": "de", "next": "/dashboard/"})
    expected = {"/dashboard/audit/": ("Prüfprotokoll", "Aktion beginnt mit"),
                "/dashboard/links/": ("Links", "Einen Link erstellen"),
                "/dashboard/webhooks/": ("Webhooks", "Keine Endpunkte."),
                "/dashboard/security/": ("Zwei-Faktor-Anmeldung", "Ihr Authenticator")}
    for path, (title, text) in expected.items():
        page = client.get(path).content.decode()
        assert f">{title}</h1>" in page and text in page, path
    page = client.get("/dashboard/security/").content.decode()
    assert "Zum Inhalt springen" in page and ">Abmelden</button>" in page and "Schlüssel:" in page
    assert "Zwei-Faktor-Anmeldung ist für Mitglieder von Laden freiwillig" in page
    assert "Läuft ab (" in client.get("/dashboard/links/").content.decode()
    assert "Beim Dashboard anmelden" in Client().get("/dashboard/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
