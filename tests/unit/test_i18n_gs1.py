"""The words of the pages (gettext catalogues, every language each page offers) and GS1 identifiers."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from api.gs1 import normalise_gtin
from api.i18n import DOMAINS, Translator, message_ids, negotiate


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_message_has_a_translation_in_every_language_offered(domain):
    english = message_ids("en", domain)
    assert english, domain
    for lang in DOMAINS[domain]:
        messages = message_ids(lang, domain)
        assert set(messages) == set(english), (domain, lang, set(messages) ^ set(english))
        untranslated = [key for key, text in messages.items()
                        if not text or (isinstance(text, tuple) and not all(text))]
        assert untranslated == [], (domain, lang)
        for key, text in messages.items():  # the same placeholders as the English, so no page breaks
            assert set(_names(text)) == set(_names(english[key])), (domain, lang, key)


def _names(text) -> set[str]:
    import string

    texts = text if isinstance(text, tuple) else (text,)
    return {name for one in texts for _, name, _, _ in string.Formatter().parse(one) if name and name != "n"}


def test_a_translator_reads_its_page_then_the_common_words_and_flags_by_code():
    fr = Translator("fr")
    assert fr("notfound.title") == "Nous n’avons pas trouvé ce bijou"
    assert fr("and") == "et" and fr.flag("child_labour") == "travail des enfants"
    assert fr.flag("no_such_code") == fr("flag.generic")
    assert Translator("sw").lang == "en"  # the public page is not offered in Swahili
    assert Translator("sw", "statement").date("2026-03-02") == "2 Machi 2026"


def test_plurals_numbers_and_dates_read_naturally_in_each_language():
    en, fr = Translator("en"), Translator("fr")
    assert en("journey.times", n=1) == "once" and en("journey.times", n=3) == "3 times"
    assert fr("journey.times", n=3) == "3 fois"
    assert en.percent(0.4512) == "45%" and fr.percent(0.4512) == "45\u202f%"
    assert en.percent(0.037) == "3.7%" and fr.percent(0.037) == "3,7\u202f%"
    assert en.number(1234.5) == "1,234.5" and fr.number(1234.5) == "1\u202f234,5"
    assert en.date("2026-03-01") == "1 March 2026" and fr.date("2026-03-01") == "1er mars 2026"
    assert en.country("CD") == "DR Congo" and fr.country("CH") == "Suisse"
    assert en.join(["a", "b", "c"]) == "a, b and c" and fr.join(["a", "b"]) == "a et b"


@pytest.mark.parametrize("query, cookie, header, expected", [
    ("fr", None, "en", "fr"),
    (None, "fr", "en", "fr"),
    (None, None, "fr-CD,fr;q=0.9,en;q=0.5", "fr"),
    (None, None, "de-DE", "en"),
    ("xx", "yy", "", "en"),
])
def test_the_language_comes_from_the_switch_then_the_cookie_then_the_browser(query, cookie, header, expected):
    accept = parse_accept_header(header, LanguageAccept)
    assert negotiate(query, cookie, accept) == expected


@pytest.mark.parametrize("text, expected", [
    ("03760123450010", "03760123450010"),
    ("4006381333931", "04006381333931"),  # GTIN-13
    ("96385074", "00000096385074"),  # GTIN-8
    ("03760123450017", None),  # wrong check digit
    ("0376012345001", None),  # wrong length
    ("0376O123450010", None),
    ("٠٣٧٦٠١٢٣٤٥٠٠١٠", None),  # digits, but not ASCII
])
def test_a_gtin_is_checked_by_its_check_digit(text, expected):
    assert normalise_gtin(text) == expected
