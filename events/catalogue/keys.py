"""Signing keys: an organisation registers the Ed25519 public keys that sign its events, and revokes them.

A ``key_id`` names one key on the whole platform (the ``signature`` of an event names only the
``key_id``). Recorded by the organisation itself (any role) or an admin; see ``events.signing``.
"""
from __future__ import annotations

from events.catalogue.base import DataSchema
from events.fields import Base64Bytes, Identifier, Text, Timestamp


class KeyRegistered(DataSchema):
    """An Ed25519 public key that signs ``organisation_id``'s events from ``valid_from`` on."""

    stream_field = "key_id"
    organisation_id = Identifier(required=True)
    key_id = Identifier(required=True)
    public_key = Base64Bytes(32, required=True, metadata={"description": "standard base64 of the 32 raw "
                                                                        "Ed25519 public key bytes"})
    valid_from = Timestamp(required=True)


class KeyRevoked(DataSchema):
    """A key of ``organisation_id`` signs nothing more from now on (signatures made before stand)."""

    stream_field = "key_id"
    organisation_id = Identifier(required=True)
    key_id = Identifier(required=True)
    reason = Text(max_length=2000)


SCHEMAS = {
    "organization.key_registered": KeyRegistered,
    "organization.key_revoked": KeyRevoked,
}
