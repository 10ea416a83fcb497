"""Personal data: sealed at capture with each person's own key, opened for those who may read it, shredded on erasure.

Capture calls :meth:`PersonalData.seal` on a valid, authorised batch: personal fields
(``events.sealed.PERSONAL_FIELDS``) are replaced by their sealed form, so the plaintext never reaches
the log; then :meth:`PersonalData.shred` destroys the key of each person a ``person.erased`` of the
batch names, before the batch is appended. Projectors and views that
need a personal field call :meth:`PersonalData.reveal`; a field whose key is gone reveals as ``None``.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from events.sealed import PERSONAL_FIELDS, SealError, Sealer, is_sealed, open_sealed
from services.errors import Conflict
from services.keystore import KeyStore

ERASURE = "person.erased"


class PersonalData:
    """Seals and reveals personal fields through a :class:`~services.keystore.KeyStore`."""

    def __init__(self, store: KeyStore):
        self.store = store

    def seal(self, raw_events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The batch as it may be stored: personal fields sealed, each person with their own key.

        Events without personal fields are returned as they are (the same objects). A signed event
        carrying personal fields loses its signature (capture checks it over what was sent): the
        organisation signed the plaintext, the log keeps the ciphertext, so no one could check that
        signature against the stored event. Raises Conflict (409) for personal fields of an erased
        person (a person registered again needs a new id).
        """
        carrying = {index: (raw, names) for index, raw in enumerate(raw_events) if (names := _personal_names(raw))}
        if not carrying:
            return list(raw_events)
        keys = self.store.keys_for(_person_of(raw) for raw, _ in carrying.values())
        erased = {f"events.{index}.data.{PERSONAL_FIELDS[raw['type']].person_field}":
                  [f"{_person_of(raw)} was erased; a person registered again needs a new id."]
                  for index, (raw, _) in carrying.items() if keys[_person_of(raw)] is None}
        if erased:
            raise Conflict("Personal data of an erased person; nothing was recorded.", erased)
        sealers: dict[str, Sealer] = {}
        out = list(raw_events)
        for index, (raw, names) in carrying.items():
            person = _person_of(raw)
            if person not in sealers:
                sealers[person] = Sealer(keys[person][1], keys[person][0])  # type: ignore[index]
            data = dict(raw["data"])
            for name in names:
                data[name] = sealers[person].seal(person, name, raw["event_id"], data[name])
            out[index] = {**{k: v for k, v in raw.items() if k != "signature"}, "data": data}
        return out

    def shred(self, raw_events: Sequence[Mapping[str, Any]]) -> None:
        """Destroy the keys of the persons the batch's ``person.erased`` events name (before they are appended)."""
        for raw in raw_events:
            if raw["type"] == ERASURE:
                self.store.erase(raw["data"]["person_id"])

    def reveal(self, items: Iterable[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
        """For each ``(event_type, data)``, its personal fields in the clear (``None`` where the key is gone).

        One key-store query for all of them. A field stored in the clear (a log older than sealing)
        is returned as stored.
        """
        items = list(items)
        kids = {data[name]["kid"] for event_type, data in items if event_type in PERSONAL_FIELDS
                for name in PERSONAL_FIELDS[event_type].fields if is_sealed(data.get(name))}
        keys = self.store.keys(kids) if kids else {}
        out = []
        for event_type, data in items:
            spec = PERSONAL_FIELDS.get(event_type)
            fields: dict[str, Any] = {}
            for name in spec.fields if spec is not None else ():
                value = data.get(name)
                if is_sealed(value):
                    key = keys.get(value["kid"])
                    try:
                        value = open_sealed(key, data[spec.person_field], name, value) if key is not None else None
                    except SealError:
                        value = None  # not this person's or field's ciphertext: reveals nothing
                fields[name] = value
            out.append(fields)
        return out

    def erased(self, person_ids: Iterable[str]) -> set[str]:
        """The persons among ``person_ids`` whose keys were destroyed."""
        return self.store.erased(person_ids)


def _person_of(raw: Mapping[str, Any]) -> str:
    return raw["data"][PERSONAL_FIELDS[raw["type"]].person_field]


def _personal_names(raw: Mapping[str, Any]) -> list[str]:
    """The personal fields an event carries in the clear (validation let none arrive sealed)."""
    spec = PERSONAL_FIELDS.get(raw["type"])
    if spec is None:
        return []
    data = raw["data"]
    return [name for name in spec.fields if name in data and type(data[name]) is not dict]
