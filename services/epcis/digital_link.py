"""GS1 identifiers for hashing: EPC URNs and Digital Link URIs in their constrained canonical form.

The GS1 event hash (CBV 2.0 section 8.9) compares identifiers in one form: the GS1 Digital Link URI
on ``https://id.gs1.org``, without query string, and only at its finest level of identification.
"""
from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

CANONICAL_DOMAIN = "https://id.gs1.org"

#: GS1 Digital Link's short names of application identifiers (the alternative path spelling)
_SHORT_NAMES = {"gtin": "01", "sscc": "00", "gln": "414", "ser": "21", "lot": "10", "cpv": "22",
                "gdti": "253", "gcn": "255", "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004",
                "itip": "8006", "cpid": "8010", "cpsn": "8011", "gsrnp": "8017", "gsrn": "8018",
                "party": "417", "tpx": "235", "glnx": "254"}
#: primary keys, each with the qualifiers kept in the constrained form (the finest level only)
_KEEP = {"00": (), "01": ("21", "10", "235"), "253": (), "255": (), "401": (), "402": (), "414": ("254",),
         "417": (), "8003": (), "8004": (), "8006": ("21", "10"), "8010": ("8011",), "8017": (), "8018": ()}


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _dl_escape(urn_part: str) -> str:
    """A URN component (percent-escaped its own way) as Digital Link escapes it."""
    return quote(unquote(urn_part), safe="'")


def _gtin(company_prefix: str, item_reference: str) -> str:
    body = item_reference[:1] + company_prefix + item_reference[1:]
    return body + check_digit(body)


def _keyed(company_prefix: str, reference: str) -> str:
    body = company_prefix + reference
    return body + check_digit(body)


def _from_epc_urn(urn: str) -> str | None:
    """The Digital Link path of an EPC URN (``urn:epc:id:...`` or ``urn:epc:class:lgtin``), else None."""
    match = re.fullmatch(r"urn:epc:(id|class|idpat):([a-z]+):(.*)", urn)
    if match is None:
        return None
    scheme, parts = match.group(2), match.group(3).split(".")
    if match.group(1) == "idpat":
        # a pattern of every instance of a class: the class (a GTIN) is its finest level
        return f"01/{_gtin(parts[0], parts[1])}" if scheme == "sgtin" and len(parts) > 1 and "*" not in parts[1] else None
    try:
        if scheme in ("sgtin", "lgtin"):
            cp, item, rest = parts[0], parts[1], ".".join(parts[2:])
            return f"01/{_gtin(cp, item)}/{'21' if scheme == 'sgtin' else '10'}/{_dl_escape(rest)}"
        if scheme == "upui":
            return f"01/{_gtin(parts[0], parts[1])}/235/{_dl_escape('.'.join(parts[2:]))}"
        if scheme == "sscc":
            return f"00/{_gtin(parts[0], parts[1])}"
        if scheme == "sgln":
            path = f"414/{_keyed(parts[0], parts[1])}"
            return path if parts[2] == "0" else f"{path}/254/{_dl_escape(parts[2])}"
        if scheme == "pgln":
            return f"417/{_keyed(parts[0], parts[1])}"
        if scheme == "grai":
            return f"8003/0{_keyed(parts[0], parts[1])}{_dl_escape('.'.join(parts[2:]))}"
        if scheme in ("gdti", "sgcn"):
            return f"{'253' if scheme == 'gdti' else '255'}/{_keyed(parts[0], parts[1])}{_dl_escape('.'.join(parts[2:]))}"
        if scheme in ("giai", "ginc"):
            return f"{'8004' if scheme == 'giai' else '401'}/{parts[0]}{_dl_escape('.'.join(parts[1:]))}"
        if scheme in ("gsrn", "gsrnp", "gsin"):
            return f"{ {'gsrn': '8018', 'gsrnp': '8017', 'gsin': '402'}[scheme]}/{_keyed(parts[0], parts[1])}"
        if scheme == "cpi":
            return f"8010/{parts[0]}{_dl_escape(parts[1])}/8011/{_dl_escape('.'.join(parts[2:]))}"
        if scheme == "itip":
            return f"8006/{_gtin(parts[0], parts[1])}{parts[2]}{parts[3]}/21/{_dl_escape('.'.join(parts[4:]))}"
    except IndexError:
        return None
    return None


def _constrained_path(path: str) -> str | None:
    """The constrained form of a Digital Link path (``/01/.../21/...``), else None if it is none."""
    segments = [s for s in path.split("/") if s]
    for start in range(len(segments)):
        key = _SHORT_NAMES.get(segments[start], segments[start])
        if key in _KEEP and start + 1 < len(segments):
            pairs = segments[start:]
            if len(pairs) % 2:
                return None
            values = {_SHORT_NAMES.get(pairs[i], pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}
            primary = values.pop(key) if key in values else None
            if primary is None:
                return None
            if key == "01":
                primary = primary.zfill(14)
            for qualifier in _KEEP[key]:
                if qualifier in values:
                    extra = f"/{qualifier}/{values[qualifier]}"
                    if key == "414" and "254" in values:
                        extra = f"/254/{values['254']}"
                    return f"{key}/{primary}{extra}"
            return f"{key}/{primary}"
    return None


#: a path segment naming a GS1 key: a Digital Link URI has one (checked first: most URIs are not)
_KEY_SEGMENT = re.compile("/(" + "|".join(sorted(set(_KEEP) | set(_SHORT_NAMES), key=len, reverse=True)) + ")/")


def canonical_identifier(value: str) -> str:
    """``value`` as the event hash writes an identifier: a constrained Digital Link URI if it is an EPC
    URN or a Digital Link URI (on any domain), else unchanged."""
    if value.startswith("urn:epc:"):
        path = _from_epc_urn(value)
        return f"{CANONICAL_DOMAIN}/{path}" if path is not None else value
    if value.startswith(("https://", "http://")) and _KEY_SEGMENT.search(value):
        parts = urlsplit(value)
        path = _constrained_path(parts.path)
        if path is not None and re.fullmatch(r"\d{2,4}/\d.*", path):
            return f"{CANONICAL_DOMAIN}/{path}"
    return value
