"""The log's self-check (``oretrail verify --log``): every hash and the whole tree recomputed from the events.

The order of the checks is the tree's leaf order, so the first problem reported is the first leaf
that differs: an event whose stored body no longer hashes to its hash, a leaf of the stored tree
that is not the hash of its event, a gap; then every signed checkpoint kept (its signature and
origin, its root against the recomputed tree of its size, so each is consistent with the log and
with every other), and the log's size against the largest.

On SQLite the leaf order is the log's positions (:func:`audit_log`). On Kafka it is the sequencer's
tree topic (:func:`audit_sequenced_log`): each leaf names its event's partition and offset, whose
body is read from the events topic and hashed again; an event the sequencer read past but never
gave a leaf (other than a second copy of an event already in the tree) is a problem too.
"""
from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Sequence

from events import merkle
from events.canonical import content_hash
from events.checkpoint import Checkpoint
from events.kafka_tree_topic import TreeTopic
from events.log import EventLog
from events.position import LogPosition
from events.signed_note import NoteError, NoteVerifier
from events.tree_store import TreeMismatch, TreeStore

_PAGE = 5000


@dataclass
class AuditReport:
    """What the self-check found: events checked, checkpoints checked, and the problems, first one first."""

    events: int = 0
    checkpoint_size: int | None = None
    checkpoints: int = 0
    #: on Kafka: events appended after what the sequencer has read (not in the tree yet, not a problem)
    unsequenced: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if nothing differs."""
        return not self.problems


class _Rebuilt:
    """The tree recomputed leaf by leaf, keeping only its complete subtrees on the right edge."""

    def __init__(self):
        self.size = 0
        self.frontier: dict[merkle.Node, bytes] = {}

    def add(self, leaf: bytes) -> None:
        created = merkle.completed_nodes(self.size, self.frontier, [leaf])
        self.size += 1
        keep = set(merkle.range_nodes(0, self.size))
        self.frontier = {node: value for node, value in {**self.frontier, **created}.items() if node in keep}

    def root(self) -> bytes:
        return merkle.tree_root(self.size, lambda nodes: {node: self.frontier[node] for node in nodes})


class _Audit:
    """The recomputed tree, checked against the stored one leaf by leaf and against every kept checkpoint."""

    def __init__(self, tree: TreeStore, verifier: NoteVerifier, origin: str):
        self.tree = tree
        self.report = AuditReport()
        self.rebuilt = _Rebuilt()
        self.stored_size = tree.size()
        self.signed: dict[int, bytes] = {}  # tree size -> signed root, of every checkpoint that verifies
        for kept in tree.checkpoints():
            try:
                checkpoint = Checkpoint.parse(verifier.verify(kept.note))
            except (NoteError, ValueError) as exc:
                self.report.problems.append(f"the checkpoint of tree size {kept.tree_size} does not verify: {exc}")
                continue
            if checkpoint.origin != origin:
                self.report.problems.append(f"the checkpoint of tree size {checkpoint.tree_size} names origin "
                                            f"{checkpoint.origin!r}, not {origin!r}")
                continue
            self.signed[checkpoint.tree_size] = checkpoint.root
        self.report.checkpoints = len(self.signed)
        self.report.checkpoint_size = max(self.signed, default=None)
        if 0 in self.signed and self.signed[0] != merkle.empty_root():
            self.report.problems.append("the signed checkpoint of tree size 0 does not have the empty tree's root")

    def leaves(self, where: Sequence[str], recomputed: Sequence[str], found: Sequence[list[str]]) -> None:
        """Add leaves (their events' recomputed hashes, hex) at the end; ``where`` names each in a problem,
        ``found`` holds what was found wrong with each event already (reported in leaf order)."""
        first = self.rebuilt.size
        stored = self._stored_leaves(first, len(recomputed))
        for n, (place, digest, problems) in enumerate(zip(where, recomputed, found)):
            self.report.problems.extend(problems)
            leaf = merkle.leaf_hash(bytes.fromhex(digest))
            if first + n < self.stored_size and stored.get((0, first + n)) != leaf:
                self.report.problems.append(f"{place}: the tree's leaf is not the hash of the event")
            self.rebuilt.add(leaf)
            signed = self.signed.get(self.rebuilt.size)
            if signed is not None and signed != self.rebuilt.root():
                self.report.problems.append(f"the recomputed tree of size {self.rebuilt.size} does not match "
                                            f"the signed checkpoint of that size")

    def _stored_leaves(self, first: int, count: int) -> dict[merkle.Node, bytes]:
        wanted = [(0, index) for index in range(first, min(first + count, self.stored_size))]
        try:
            return dict(self.tree.read(wanted)) if wanted else {}
        except TreeMismatch:  # a leaf cut behind the triggers: read them one by one to name it
            found = {}
            for node in wanted:
                with suppress(TreeMismatch):
                    found.update(self.tree.read([node]))
            return found

    def finish(self, first_missing: str) -> AuditReport:
        """The size checks, after the last leaf (``first_missing`` names the place after it)."""
        size = self.rebuilt.size
        if self.stored_size != size:
            self.report.problems.append(f"the tree has {self.stored_size} leaves but the log {size} events")
        beyond = [signed for signed in self.signed if signed > size]
        if beyond:
            self.report.problems.append(f"the log was truncated: the signed checkpoint covers {max(beyond)} events, "
                                        f"the log holds {size} (first missing {first_missing})")
        return self.report


def audit_log(log: EventLog, tree: TreeStore, verifier: NoteVerifier, origin: str) -> AuditReport:
    """Recompute every event's hash and the tree of a log whose leaves follow its positions (SQLite)."""
    audit = _Audit(tree, verifier, origin)
    position = LogPosition()
    while True:
        page = log.page(position, _PAGE)
        where, recomputed, found = [], [], []
        for event in page.events:
            index = audit.rebuilt.size + len(recomputed)
            problems = []
            if event.position != index + 1:
                problems.append(f"position {index + 1}: missing (the next event is at position {event.position})")
            digest = content_hash(json.loads(event.body))
            if digest != event.hash:
                problems.append(f"position {event.position}: the stored event does not hash to its "
                                f"recorded hash (event {event.event_id})")
            where.append(f"position {index + 1}")
            recomputed.append(digest)
            found.append(problems)
        audit.leaves(where, recomputed, found)
        audit.report.events += len(page.events)
        if not page.events:
            break
        position = page.next
    return audit.finish(f"position {audit.rebuilt.size + 1}")


def audit_sequenced_log(log: EventLog, tree_topic: TreeTopic, tree: TreeStore, verifier: NoteVerifier,
                        origin: str) -> AuditReport:
    """Recompute every event's hash and the tree of a Kafka log, in the order of its sequencer's topic."""
    events: dict[tuple[int, int], tuple[str, str, str]] = {}  # (partition, offset) -> id, stored hash, recomputed
    position = LogPosition()
    while True:
        page = log.page(position, _PAGE)
        for event in page.events:
            events[(event.partition, event.offset)] = (event.event_id, event.hash, content_hash(json.loads(event.body)))
        if not page.events:
            break
        position = page.next
    audit = _Audit(tree, verifier, origin)
    sequenced: set[str] = set()
    read_to: dict[int, int] = {}
    for batch in tree_topic.read_all():
        if batch.first != audit.rebuilt.size:
            audit.report.problems.append(f"leaf {audit.rebuilt.size}: missing (the tree topic goes on at leaf {batch.first})")
        where, recomputed, found = [], [], []
        for leaf in batch.leaves:
            place = f"leaf {leaf.leaf_index} (partition {leaf.partition}, offset {leaf.offset})"
            event = events.get((leaf.partition, leaf.offset))
            problems = []
            if event is None or event[0] != leaf.event_id:
                problems.append(f"{place}: the events topic has no event {leaf.event_id} there")
                digest = leaf.hash
            else:
                event_id, stored_hash, digest = event
                if digest != stored_hash:
                    problems.append(f"{place}: the stored event does not hash to its recorded hash (event {event_id})")
                elif digest != leaf.hash:
                    problems.append(f"{place}: the sequencer's hash is not the event's")
            sequenced.add(leaf.event_id)
            where.append(place)
            recomputed.append(digest)
            found.append(problems)
        audit.leaves(where, recomputed, found)
        for partition, offset in batch.next.items():
            read_to[partition] = max(read_to.get(partition, 0), offset)
    audit.report.events = audit.rebuilt.size
    for (partition, offset), (event_id, _stored, _digest) in sorted(events.items()):
        if event_id in sequenced:
            continue
        if offset < read_to.get(partition, 0):
            audit.report.problems.append(f"partition {partition}, offset {offset}: the sequencer read event {event_id} "
                                         f"but gave it no leaf")
        else:
            audit.report.unsequenced += 1
    return audit.finish(f"leaf {audit.rebuilt.size}")
