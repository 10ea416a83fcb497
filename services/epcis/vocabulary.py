"""The words Oretrail's EPCIS documents use: the JSON-LD context, the Oretrail namespace, CBV terms."""
from __future__ import annotations

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: the namespace of Oretrail's own fields (extensions and ILMD), the same for every deployment
NAMESPACE = "https://oretrail.org/ns/epcis/"
PREFIX = "oretrail"
#: every document's ``@context``: the EPCIS 2.0 context and the Oretrail prefix
CONTEXT = [EPCIS_CONTEXT, {PREFIX: NAMESPACE}]
SCHEMA_VERSION = "2.0"
EPCIS_VERSION = "2.0.0"
CBV_VERSION = "2.0.0"
#: grams, as UN/CEFACT Recommendation 20 spells it (the unit of every quantity Oretrail writes)
GRAMS = "GRM"
#: other masses an imported document may use, in grams
UNIT_GRAMS = {"GRM": 1.0, "KGM": 1000.0, "MGM": 0.001}


def term(local: str) -> str:
    """An Oretrail field's key in a document (``oretrail:local``)."""
    return f"{PREFIX}:{local}"
