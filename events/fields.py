"""Strict marshmallow fields for the v1 contract.

marshmallow's stock fields are lenient on purpose (``"12.5"`` is a float, ``1`` is ``True``).
An attestation about gold must not be guessed at, so these fields accept exactly one JSON type.
"""
from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import datetime, timezone

import pycountry
from marshmallow import ValidationError, fields, validate

# Every pattern spells its digits [0-9]: in Python ``\d`` also matches Arabic-Indic and other Unicode
# digits, and "5٠٠.00" must not pass for an amount of 500.
IDENTIFIER_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: "." and ".." are dot-segments (RFC 3986 5.2.4): a URL ending in one is normalised away, so a page
#: named by them could never be reached. Longer runs of dots ("...") are ordinary path segments.
DOT_SEGMENTS = frozenset({".", ".."})
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RFC3339_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
DECIMAL_PATTERN = re.compile(r"(0|[1-9][0-9]{0,14})(\.[0-9]{1,8})?")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
PERIOD_PATTERN = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
GTIN_PATTERN = re.compile(r"[0-9]{8}|[0-9]{12,14}")

#: the years a date or time may fall in: the projectors order and group by four-digit years in UTC,
#: and an instant before 1 January 0001 UTC (``0001-01-01T00:00:00+14:00``) cannot even be converted
FIRST_YEAR, LAST_YEAR = 1900, 2100


class StrictString(fields.String):
    """A JSON string with a rule of its own (``checked``): a ``str`` is taken as it is, anything else
    goes through marshmallow's String conversion first (capture runs these for every field of every event)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return self.checked(value if type(value) is str else super()._deserialize(value, attr, data, **kwargs))

    def checked(self, text: str) -> str:
        """``text`` if it follows this field's rule; else a ValidationError."""
        return text


#: why text holding a NUL character is refused (PostgreSQL cannot store or compare it)
NUL_MESSAGE = "Must not contain a NUL character (U+0000)."


def has_nul(text: str) -> bool:
    """Whether ``text`` holds a NUL character (U+0000), which no read model on PostgreSQL can hold."""
    return "\x00" in text


class Text(StrictString):
    """A non-empty JSON string of bounded length: valid Unicode, without NUL (PostgreSQL cannot store it)."""

    def __init__(self, max_length: int = 500, **kwargs):
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)

    def checked(self, text: str) -> str:
        if has_nul(text):
            raise ValidationError(NUL_MESSAGE)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Not valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character.") from None
        return text


class Identifier(StrictString):
    """An opaque client-chosen identifier: ``[A-Za-z0-9._:-]{1,128}``."""

    def checked(self, text: str) -> str:
        if not IDENTIFIER_PATTERN.fullmatch(text):
            raise ValidationError("Not a valid identifier: use 1-128 of A-Z a-z 0-9 . _ : -")
        if text in DOT_SEGMENTS:
            raise ValidationError('Not a valid identifier: "." and ".." cannot name a page.')
        return text


class EventId(StrictString):
    """A UUID in canonical form (lower case, hyphenated): the idempotency key."""

    def checked(self, text: str) -> str:
        if not UUID_PATTERN.fullmatch(text):  # 32 hex digits in the canonical groups: always a UUID
            raise ValidationError("Not a UUID in canonical lower-case form.")
        return text


class Timestamp(StrictString):
    """An RFC 3339 date-time with a zone offset, kept as the client wrote it."""

    def checked(self, text: str) -> str:
        if not RFC3339_PATTERN.fullmatch(text):
            raise ValidationError("Not an RFC 3339 date-time with a zone, e.g. 2026-03-02T10:15:00+01:00.")
        try:
            moment = parse_timestamp(text)
        except ValueError as exc:
            raise ValidationError(f"Not a valid date-time: {exc}.") from None
        try:
            in_utc = moment.astimezone(timezone.utc)
        except OverflowError:
            in_utc = None
        if in_utc is None or not all(FIRST_YEAR <= year <= LAST_YEAR for year in (moment.year, in_utc.year)):
            raise ValidationError(f"Out of range: a date-time from {FIRST_YEAR} to {LAST_YEAR} (also in UTC).")
        return text


class Date(StrictString):
    """A calendar date, ``YYYY-MM-DD``."""

    def checked(self, text: str) -> str:
        if not DATE_PATTERN.fullmatch(text):
            raise ValidationError("Not a date in the form YYYY-MM-DD.")
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            raise ValidationError("Not a valid calendar date.") from None
        require_years(int(text[:4]))
        return text


class Period(StrictString):
    """A calendar month, ``YYYY-MM``."""

    def checked(self, text: str) -> str:
        if not PERIOD_PATTERN.fullmatch(text):
            raise ValidationError("Not a month in the form YYYY-MM.")
        require_years(int(text[:4]))
        return text


class Number(fields.Float):
    """A finite JSON number (never a string, never a boolean), with optional bounds."""

    def __init__(self, minimum=None, maximum=None, min_inclusive=True, max_inclusive=True, **kwargs):
        validators = []
        if minimum is not None or maximum is not None:
            validators.append(
                validate.Range(min=minimum, max=maximum, min_inclusive=min_inclusive, max_inclusive=max_inclusive)
            )
        super().__init__(allow_nan=False, validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is float and math.isfinite(value):  # most numbers, decided at once
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("Not a finite number.")
        if isinstance(value, int) and abs(value) > 10**15:
            raise ValidationError("Number out of range.")
        return float(value)  # marshmallow's Float conversion: nothing left in it can fail


def Grams(allow_zero: bool = False, **kwargs) -> Number:
    """A mass in grams: finite and positive (zero only where a weighing may find nothing)."""
    return Number(minimum=0, maximum=10**9, min_inclusive=allow_zero, **kwargs)


def Fineness(**kwargs) -> Number:
    """A fineness as a fraction in (0, 1]: 0.999 is 'three nines' gold."""
    return Number(minimum=0, maximum=1, min_inclusive=False, **kwargs)


class Count(fields.Integer):
    """A non-negative JSON integer (never a float, string or boolean)."""

    def __init__(self, maximum: int = 10**9, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=0, max=maximum), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not an integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class Year(Count):
    """A calendar year between 1900 and 2100."""

    def __init__(self, **kwargs):
        fields.Integer.__init__(self, strict=True, validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR), **kwargs)


class Flag(fields.Boolean):
    """A JSON boolean, exactly ``true`` or ``false``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean.")
        return value


class Money(StrictString):
    """An amount of money as a non-negative decimal string, e.g. ``"52.30"``."""

    def checked(self, text: str) -> str:
        if not DECIMAL_PATTERN.fullmatch(text):
            raise ValidationError('Not a decimal amount as a string, e.g. "52.30".')
        return text


class Sha256(StrictString):
    """A SHA-256 digest as 64 lower-case hex digits."""

    def checked(self, text: str) -> str:
        if not SHA256_PATTERN.fullmatch(text):
            raise ValidationError("Not a SHA-256 digest (64 lower-case hex digits).")
        return text


class Base64Bytes(StrictString):
    """Standard base64 (RFC 4648, padded) of exactly ``size`` bytes, kept as the client wrote it."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def checked(self, text: str) -> str:
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValidationError("Not standard base64 (A-Z a-z 0-9 + /, padded with =).") from None
        if len(raw) != self.size:
            raise ValidationError(f"Must decode to {self.size} bytes, not {len(raw)}.")
        return text


class Country(StrictString):
    """An assigned ISO 3166-1 alpha-2 country code, e.g. ``CD``."""

    def checked(self, text: str) -> str:
        if len(text) != 2 or not text.isascii() or not text.isupper() or pycountry.countries.get(alpha_2=text) is None:
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code, e.g. CD.")
        return text


class Currency(StrictString):
    """An ISO 4217 currency code, e.g. ``USD``."""

    def checked(self, text: str) -> str:
        if len(text) != 3 or not text.isascii() or not text.isupper() or pycountry.currencies.get(alpha_3=text) is None:
            raise ValidationError("Not an ISO 4217 currency code, e.g. USD.")
        return text


class Gtin(StrictString):
    """A GS1 GTIN as a string of 8, 12, 13 or 14 ASCII digits."""

    def __init__(self, **kwargs):
        # the pattern for the OpenAPI document (ECMA-262: ``$`` is the very end there, unlike in Python)
        super().__init__(metadata={"pattern": f"^({GTIN_PATTERN.pattern})$"}, **kwargs)

    def checked(self, text: str) -> str:
        if not GTIN_PATTERN.fullmatch(text):
            raise ValidationError("Not a GTIN (8, 12, 13 or 14 digits).")
        return text


def require_years(year: int) -> None:
    """Raise a ValidationError unless ``year`` lies from FIRST_YEAR to LAST_YEAR."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(f"Out of range: a year from {FIRST_YEAR} to {LAST_YEAR}.")


def OneOf(choices, **kwargs) -> fields.String:
    """A string that must be one of ``choices``."""
    return fields.String(validate=validate.OneOf(list(choices)), **kwargs)


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 date-time (as validated by :class:`Timestamp`) into an aware datetime."""
    normalised = text.replace("z", "Z").replace("t", "T")
    moment = datetime.fromisoformat(normalised)
    if moment.tzinfo is None:
        raise ValueError("no zone offset")
    return moment
