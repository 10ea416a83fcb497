"""The log's self-check (``oretrail verify --log``): every hash and the whole tree recomputed from the events.

The order of the checks is the order of the log, so the first problem reported is the first
position that differs: an event whose stored body no longer hashes to its hash, a leaf of the tree
that is not the hash of its event, a gap, then the tree against the latest signed checkpoint (its
signature, its size against the log's, its root against the recomputed one).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from events import merkle
from events.canonical import content_hash
from events.checkpoint import Checkpoint
from events.log import EventLog
from events.position import LogPosition
from events.signed_note import NoteError, NoteVerifier
from events.tree_store import TreeMismatch, TreeStore

_PAGE = 5000


@dataclass
class AuditReport:
    """What the self-check found: the number of events checked, and the problems, first one first."""

    events: int = 0
    checkpoint_size: int | None = None
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


def audit_log(log: EventLog, tree: TreeStore, verifier: NoteVerifier, origin: str) -> AuditReport:
    """Recompute every event's hash and the tree, compare them with what is stored and signed."""
    report = AuditReport()
    checkpoint = tree.latest_checkpoint()
    signed: Checkpoint | None = None
    if checkpoint is not None:
        try:
            signed = Checkpoint.parse(verifier.verify(checkpoint.note))
        except (NoteError, ValueError) as exc:
            report.problems.append(f"the checkpoint of tree size {checkpoint.tree_size} does not verify: {exc}")
        else:
            report.checkpoint_size = signed.tree_size
            if signed.origin != origin:
                report.problems.append(f"the checkpoint names origin {signed.origin!r}, not {origin!r}")
    rebuilt = _Rebuilt()
    checkpoint_root: bytes | None = merkle.empty_root() if signed is not None and signed.tree_size == 0 else None
    stored_size = tree.size()
    position = LogPosition()
    while True:
        page = log.page(position, _PAGE)
        for event in page.events:
            _check_event(event, rebuilt.size, stored_size, tree, report)
            rebuilt.add(merkle.leaf_hash(bytes.fromhex(content_hash(json.loads(event.body)))))
            if signed is not None and rebuilt.size == signed.tree_size:
                checkpoint_root = rebuilt.root()
        report.events += len(page.events)
        if not page.events:
            break
        position = page.next
    if stored_size != rebuilt.size:
        report.problems.append(f"the tree has {stored_size} leaves but the log {rebuilt.size} events")
    if signed is not None:
        if signed.tree_size > rebuilt.size:
            report.problems.append(f"the log was truncated: the signed checkpoint covers {signed.tree_size} events, "
                                   f"the log holds {rebuilt.size} (first missing position {rebuilt.size + 1})")
        elif checkpoint_root != signed.root:
            report.problems.append(f"the recomputed tree of size {signed.tree_size} does not match the signed checkpoint")
    return report


def _check_event(event, index: int, stored_size: int, tree: TreeStore, report: AuditReport) -> None:
    """Record what differs at one event (index: its place in the recomputed order)."""
    if event.position != index + 1:
        report.problems.append(f"position {index + 1}: missing (the next event is at position {event.position})")
    recomputed = content_hash(json.loads(event.body))
    if recomputed != event.hash:
        report.problems.append(f"position {event.position}: the stored event does not hash to its recorded hash "
                               f"(event {event.event_id})")
    if index < stored_size:
        try:
            stored_leaf = tree.read([(0, index)])[(0, index)]
        except TreeMismatch:
            stored_leaf = None
        if stored_leaf != merkle.leaf_hash(bytes.fromhex(recomputed)):
            report.problems.append(f"position {index + 1}: the tree's leaf is not the hash of the event")
