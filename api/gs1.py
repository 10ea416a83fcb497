"""GS1 identifiers: GTIN check digits and the 14-digit form used by GS1 Digital Link."""
from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def gtin_check_digit(body: str) -> int:
    """The check digit of a GTIN's digits without it (weights 3 and 1 from the right, modulo 10)."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def normalise_gtin(text: str) -> str | None:
    """The GTIN-14 form of ``text`` (8, 12, 13 or 14 digits with a right check digit), else None."""
    if not text.isascii() or not text.isdigit() or len(text) not in GTIN_LENGTHS:
        return None
    if gtin_check_digit(text[:-1]) != int(text[-1]):
        return None
    return text.zfill(14)
