"""Strict marshmallow fields for the v1 contract.

marshmallow's stock fields are lenient on purpose (``"12.5"`` is a float, ``1`` is ``True``).
An attestation about gold must not be guessed at, so these fields accept exactly one JSON type.
"""
from __future__ import annotations

import math
import re
import uuid
from datetime import datetime

import pycountry
from marshmallow import ValidationError, fields, validate

IDENTIFIER_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RFC3339_PATTERN = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
DECIMAL_PATTERN = re.compile(r"(0|[1-9]\d{0,14})(\.\d{1,8})?")
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
PERIOD_PATTERN = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class Text(fields.String):
    """A non-empty JSON string of bounded length: valid Unicode, without NUL (PostgreSQL cannot store it)."""

    def __init__(self, max_length: int = 500, **kwargs):
        super().__init__(validate=validate.Length(min=1, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain a NUL character (U+0000).")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Not valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character.") from None
        return text


class Identifier(fields.String):
    """An opaque client-chosen identifier: ``[A-Za-z0-9._:-]{1,128}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not IDENTIFIER_PATTERN.fullmatch(text):
            raise ValidationError("Not a valid identifier: use 1-128 of A-Z a-z 0-9 . _ : -")
        return text


class EventId(fields.String):
    """A UUID in canonical form (lower case, hyphenated): the idempotency key."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not UUID_PATTERN.fullmatch(text):
            raise ValidationError("Not a UUID in canonical lower-case form.")
        uuid.UUID(text)
        return text


class Timestamp(fields.String):
    """An RFC 3339 date-time with a zone offset, kept as the client wrote it."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not RFC3339_PATTERN.fullmatch(text):
            raise ValidationError("Not an RFC 3339 date-time with a zone, e.g. 2026-03-02T10:15:00+01:00.")
        try:
            parse_timestamp(text)
        except ValueError as exc:
            raise ValidationError(f"Not a valid date-time: {exc}.") from None
        return text


class Date(fields.String):
    """A calendar date, ``YYYY-MM-DD``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not DATE_PATTERN.fullmatch(text):
            raise ValidationError("Not a date in the form YYYY-MM-DD.")
        try:
            datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            raise ValidationError("Not a valid calendar date.") from None
        return text


class Period(fields.String):
    """A calendar month, ``YYYY-MM``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not PERIOD_PATTERN.fullmatch(text):
            raise ValidationError("Not a month in the form YYYY-MM.")
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
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a number.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("Not a finite number.")
        if isinstance(value, int) and abs(value) > 10**15:
            raise ValidationError("Number out of range.")
        return super()._deserialize(value, attr, data, **kwargs)


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
        fields.Integer.__init__(self, strict=True, validate=validate.Range(min=1900, max=2100), **kwargs)


class Flag(fields.Boolean):
    """A JSON boolean, exactly ``true`` or ``false``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a boolean.")
        return value


class Money(fields.String):
    """An amount of money as a non-negative decimal string, e.g. ``"52.30"``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not DECIMAL_PATTERN.fullmatch(text):
            raise ValidationError('Not a decimal amount as a string, e.g. "52.30".')
        return text


class Sha256(fields.String):
    """A SHA-256 digest as 64 lower-case hex digits."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not SHA256_PATTERN.fullmatch(text):
            raise ValidationError("Not a SHA-256 digest (64 lower-case hex digits).")
        return text


class Country(fields.String):
    """An assigned ISO 3166-1 alpha-2 country code, e.g. ``CD``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) != 2 or not text.isupper() or pycountry.countries.get(alpha_2=text) is None:
            raise ValidationError("Not an ISO 3166-1 alpha-2 country code, e.g. CD.")
        return text


class Currency(fields.String):
    """An ISO 4217 currency code, e.g. ``USD``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) != 3 or not text.isupper() or pycountry.currencies.get(alpha_3=text) is None:
            raise ValidationError("Not an ISO 4217 currency code, e.g. USD.")
        return text


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
