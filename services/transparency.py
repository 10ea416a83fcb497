"""The transparency log's queries: the latest signed checkpoint, the verifier key, inclusion and
consistency proofs, each answer checked against the tree as it is."""
from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from typing import Any, Protocol, Sequence

from events import merkle
from events.checkpoint import Checkpoint
from events.log import RecordedEvent
from events.signed_note import NoteSigner
from events.tree_store import StoredCheckpoint, TreeStore
from services.errors import InvalidRequest, NotFound

logger = logging.getLogger(__name__)


def encoded(hashes: list[bytes]) -> list[str]:
    """Hashes as the API shows them: base64, standard alphabet."""
    return [base64.b64encode(value).decode() for value in hashes]


class StoredEvents(Protocol):
    """Events by id, as the log stores them."""

    def recorded(self, event_ids: Sequence[str]) -> dict[str, RecordedEvent]:
        """The stored events among ``event_ids``, by id."""


class TransparencyLog:
    """Checkpoints signed over ``tree`` as ``origin``, and the proofs a verifier asks for;
    ``events`` looks the tree's events up by id (for evidence bundles), where the log can."""

    def __init__(self, tree: TreeStore, signer: NoteSigner, origin: str, events: StoredEvents | None = None):
        self.tree = tree
        self.signer = signer
        self.origin = origin
        self.events = events

    def verifier_key(self) -> str:
        """The note verifier key: ``<name>+<hex key id>+<base64 key>``."""
        return self.signer.verifier().encoded()

    def sign_checkpoint(self) -> StoredCheckpoint | None:
        """Sign and keep a checkpoint of the tree as it is, if it grew since the last (or none exists)."""
        size = self.tree.size()
        latest = self.tree.latest_checkpoint()
        if latest is not None and latest.tree_size >= size:
            return None
        root = self.tree.root(size)
        checkpoint = StoredCheckpoint(size, root, self.signer.sign(Checkpoint(self.origin, size, root).body()),
                                      datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.tree.save_checkpoint(checkpoint)
        logger.debug("checkpoint signed at tree size %d", size)
        return checkpoint

    def latest_checkpoint(self) -> str:
        """The latest signed checkpoint (a note); one is signed now if none exists yet."""
        latest = self.tree.latest_checkpoint()
        if latest is None:
            self.sign_checkpoint()
            latest = self.tree.latest_checkpoint()
        return latest.note

    def checkpoint_covering(self, size: int) -> StoredCheckpoint:
        """The latest signed checkpoint if its tree holds at least ``size`` leaves; else one signed now."""
        latest = self.tree.latest_checkpoint()
        if latest is None or latest.tree_size < size:
            self.sign_checkpoint()
            latest = self.tree.latest_checkpoint()  # ours, or a larger one another thread signed meanwhile
        return latest

    def inclusion_proofs(self, indexes: list[int], tree_size: int) -> dict[int, list[str]]:
        """The inclusion proof (base64 hashes) of each leaf of ``indexes`` in the tree of ``tree_size``,
        with every node they need read in one go (proofs of neighbouring leaves share most of theirs)."""
        ranges = merkle.proof_ranges(indexes, tree_size)  # each shared range read and hashed once
        hashes = dict(zip(ranges, encoded(merkle.hashes_of(ranges, self.tree.read))))
        return merkle.inclusion_paths(indexes, tree_size, hashes.__getitem__)

    def inclusion_proof(self, event_id: str, tree_size: int) -> dict[str, Any]:
        """``{"leaf_index", "tree_size", "hashes"}``: the event's leaf in the tree of ``tree_size`` leaves."""
        self._within_tree({"tree_size": tree_size})
        index = self.tree.leaf_index(event_id)
        if index is None:
            raise NotFound(f"No event {event_id!r} in the log.", {"event_id": ["Unknown event."]})
        if index >= tree_size:
            raise InvalidRequest("The event is not in a tree of that size.",
                                 {"tree_size": [f"The event's leaf is {index}: the tree size must exceed it."]})
        return {"leaf_index": index, "tree_size": tree_size,
                "hashes": encoded(self.tree.inclusion_proof(index, tree_size))}

    def consistency_proof(self, old: int, new: int) -> dict[str, Any]:
        """``{"from", "to", "hashes"}``: the tree of ``old`` leaves is a prefix of the one of ``new``."""
        self._within_tree({"from": old, "to": new})
        if old > new:
            raise InvalidRequest("A consistency proof goes from a smaller tree to a larger one.",
                                 {"from": [f"Must not exceed to ({new})."]})
        return {"from": old, "to": new, "hashes": encoded(self.tree.consistency_proof(old, new))}

    def _within_tree(self, sizes: dict[str, int]) -> None:
        size = self.tree.size()
        errors = {name: [f"Must lie between 1 and the tree size ({size})."]
                  for name, value in sizes.items() if not 1 <= value <= size}
        if errors:
            raise InvalidRequest("A tree size outside the log.", errors)
