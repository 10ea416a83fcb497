"""Oretrail's identifiers as URIs in EPCIS documents, and back.

A lot, a pit and a party (a miner or an organisation) are ``<public base URL>/id/{kind}/{id}``; a
piece with a GTIN and a serial is its GS1 Digital Link URI on the same host
(``<base>/01/{GTIN-14}/21/{serial}``, which the public pages resolve), any other piece
``<base>/id/product/{id}``. Reading them back accepts any host: a document exported by another
Oretrail deployment names its lots by its own base URL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from events.fields import IDENTIFIER_PATTERN

KINDS = ("lot", "pit", "party", "product")
_ID_PATH = re.compile(r"/id/(lot|pit|party|product)/([^/?#]+)")
_PIECE_PATH = re.compile(r"/01/([0-9]{14})/21/([^/?#]+)")


@dataclass(frozen=True)
class Named:
    """What an Oretrail URI names: its kind (lot, pit, party, product or piece) and identifier; a
    piece (Digital Link) carries its GTIN-14 and serial instead."""

    kind: str
    id: str


@dataclass(frozen=True)
class Identifiers:
    """URIs under one public base URL."""

    base_url: str

    def uri(self, kind: str, identifier: str) -> str:
        """``<base>/id/{kind}/{identifier}`` (identifiers are URL-safe by their pattern)."""
        return f"{self.base_url}/id/{kind}/{identifier}"

    def lot(self, lot_id: str) -> str:
        """The URI of a lot (it resolves: ``GET /id/lot/{lot_id}``)."""
        return self.uri("lot", lot_id)

    def piece(self, product_id: str, gtin: str | None, serial: str | None) -> str:
        """A piece's GS1 Digital Link URI if it has a GTIN and a serial, else its product URI."""
        if gtin and serial:
            return f"{self.base_url}/01/{gtin.zfill(14)}/21/{quote(serial, safe='')}"
        return self.uri("product", product_id)


def named(uri: str) -> Named | None:
    """What an Oretrail URI (of any host) names, or None if it is not one."""
    path = urlsplit(uri).path
    match = _ID_PATH.search(path)
    if match is not None and match.end() == len(path):
        identifier = unquote(match.group(2))
        return Named(match.group(1), identifier) if IDENTIFIER_PATTERN.fullmatch(identifier) else None
    match = _PIECE_PATH.search(path)
    if match is not None and match.end() == len(path):
        return Named("piece", f"{match.group(1)}/{unquote(match.group(2))}")
    return None
