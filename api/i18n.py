"""The words of the pages (public page, dashboard, miner's statement) and how numbers, dates and countries read.

The words live in gettext catalogues, one ``.po`` file per language and domain under
``api/translations/<lang>/LC_MESSAGES/<domain>.po``, read with Babel. Message ids are symbolic
(``claim.traced_all``), so a page's code never changes when its English does; a message with a
plural has ``msgid_plural`` ``<id>.plural`` and the language's own plural rule (French: 0 and 1
are singular). Placeholders use ``str.format`` names. The ``.po`` sources are compiled in memory
the first time a language is asked for (once per process), so a fresh clone needs no build step.
The ``common`` domain (dates, months, "and") serves every page; each page's domain offers the
languages of :data:`DOMAINS`, and a test checks that every message is translated in each of them.
"""
from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

TRANSLATIONS = Path(__file__).parent / "translations"
#: the languages each domain of messages is offered in (the first is the default)
DOMAINS: dict[str, tuple[str, ...]] = {
    "common": ("en", "fr", "sw", "ln"),
    "public": ("en", "fr"),
    "dashboard": ("en", "fr"),
    "statement": ("en", "fr", "sw", "ln"),
}
#: the languages of the public page (its switch, its cookie)
LANGUAGES = DOMAINS["public"]
#: each language's name, in itself (the language switches)
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "sw": "Kiswahili", "ln": "Lingála"}
DEFAULT = "en"
#: languages that write numbers the French way (1 234,5 and 45 %): French, and Lingala as written in Kinshasa
_COMMA_DECIMAL = frozenset({"fr", "ln"})
#: where pycountry has no country names in a language, the names of the language its readers also read
_COUNTRY_FALLBACK = {"ln": "fr"}


@lru_cache(maxsize=32)
def catalogue(lang: str, domain: str) -> Translations:
    """The compiled catalogue of ``domain`` in ``lang`` (read from its ``.po`` source once per process)."""
    source = TRANSLATIONS / lang / "LC_MESSAGES" / f"{domain}.po"
    with source.open("rb") as file:
        messages = read_po(file, locale=lang, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def message_ids(lang: str, domain: str) -> dict[str, Any]:
    """Every message of ``domain`` in ``lang``: its id and its translation (a tuple for plurals)."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as file:
        return {message.id if isinstance(message.id, str) else message.id[0]: message.string
                for message in read_po(file, locale=lang, domain=domain) if message.id}


class Translator:
    """Messages and number, date and country formats of one language, for the pages of one domain."""

    def __init__(self, lang: str, domain: str = "public"):
        offered = DOMAINS[domain]
        self.lang = lang if lang in offered else offered[0]
        self.domain = domain
        self.messages = catalogue(self.lang, domain)
        self.common = catalogue(self.lang, "common")

    def __call__(self, key: str, n: int | None = None, **values: Any) -> str:
        """The message ``key`` (its singular or plural form for ``n``), with ``values`` filled in."""
        if n is not None:
            text = self.messages.ngettext(key, f"{key}.plural", n)
        else:
            text = self.messages.gettext(key)
            if text == key:  # not in the page's domain: the words every page shares
                text = self.common.gettext(key)
        return text.format(n=n, **values)

    def has(self, key: str) -> bool:
        """Whether ``key`` is a message of this page's domain or of the common one."""
        return self.messages.gettext(key) != key or self.common.gettext(key) != key

    def number(self, value: float | None, digits: int = 1) -> str:
        """A number with the language's decimal mark and no useless trailing zeros."""
        if value is None:
            return "?"
        text = f"{value:,.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if self.lang in _COMMA_DECIMAL:
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def money(self, amount: str | None) -> str:
        """An exact decimal amount (``"1234.50"``) with the language's marks, every cent kept."""
        if amount is None:
            return "?"
        negative = amount.startswith("-")
        whole, _, cents = amount.lstrip("-").partition(".")
        grouped = f"{int(whole):,}"
        if self.lang in _COMMA_DECIMAL:
            grouped = grouped.replace(",", "\u202f")
        text = grouped + ((("," if self.lang in _COMMA_DECIMAL else ".") + cents) if cents else "")
        return ("-" if negative else "") + text

    def percent(self, share: float | None) -> str:
        """A share as a percentage ("88 %" in French); under 1 % reads "< 1 %"."""
        if share is None:
            return "?"
        value = share * 100
        text = "< 1" if 0 < value < 1 else (self.number(value, 1) if value < 10 and value % 1 else f"{round(value)}")
        return f"{text}\u202f%" if self.lang in _COMMA_DECIMAL else f"{text}%"

    def date(self, iso: str | None) -> str:
        """``YYYY-MM-DD`` as "2 March 2026" / "2 mars 2026"."""
        if not iso or len(iso) < 10:
            return "?"
        year, month, day = iso[:4], int(iso[5:7]), int(iso[8:10])
        return self("date", day=day if not (self.lang == "fr" and day == 1) else "1er",
                    month=self(f"month.{month}"), year=year)

    def span(self, first: str | None, last: str | None) -> str:
        """A date, or a range of two dates."""
        return self.date(first) if first == last else self("range", first=self.date(first), last=self.date(last))

    def country(self, code: str | None) -> str:
        """A country's name from its ISO 3166 alpha-2 code."""
        return country_name(code, self.lang)

    def join(self, items: list[str]) -> str:
        """"a, b and c"."""
        items = [item for item in items if item]
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self('and')} {items[-1]}"

    def party(self, name: str | None) -> str:
        """A party's public name, or "a party not in the register"."""
        return name or self("party.unnamed")

    def flag(self, code: str | None) -> str:
        """The words for a red flag's category."""
        key = f"flagword.{code or ''}"
        return self(key) if self.has(key) else self("flag.generic")

    def status(self, code: str | None) -> str:
        """A due-diligence status code in words (codes are shown with spaces when not in the catalogue)."""
        return (code or "?").replace("_", " ")


@lru_cache(maxsize=512)
def country_name(code: str | None, lang: str) -> str:
    """The name of a country in ``lang`` (pycountry's names and translations, a few shortened)."""
    if not code:
        return "?"
    override = catalogue(lang, "common").gettext(f"country.{code}") if lang in DOMAINS["common"] else None
    if override and override != f"country.{code}":
        return override
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    if lang == "en":
        return name
    return _translations(_COUNTRY_FALLBACK.get(lang, lang)).gettext(country.name)


@lru_cache(maxsize=8)
def _translations(lang: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def negotiate(query: str | None, cookie: str | None, accept_language: Any,
              languages: tuple[str, ...] = LANGUAGES) -> str:
    """The page's language: ``?lang=``, else the ``lang`` cookie, else ``Accept-Language``, else English."""
    for choice in (query, cookie):
        if choice in languages:
            return choice
    best = accept_language.best_match(languages) if accept_language is not None else None
    return best or DEFAULT
