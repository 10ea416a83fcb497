"""A node's copy of the Kafka log's tree: the tree topic replayed into the read-model database, and
the events of its leaves read back from Kafka (for evidence bundles).

Any node replays; the leaf order is the sequencer's (:mod:`events.kafka_sequencer`), so every node,
and every database rebuilt from nothing, holds the same tree and proves the same roots.
"""
from __future__ import annotations

import logging
import threading
from typing import Sequence

from sqlalchemy.exc import SQLAlchemyError

from events.kafka_log import KafkaEventLog
from events.kafka_tree_topic import TreeTopic
from events.log import LogUnavailable, RecordedEvent
from events.tree_store import TreeMismatch
from services.database_tree import DatabaseTree

logger = logging.getLogger(__name__)


class TreeReplay:
    """Replays the tree topic into ``tree``: each poll's batches and the offset after them in one transaction."""

    def __init__(self, topic: TreeTopic, tree: DatabaseTree):
        self.topic = topic
        self.tree = tree
        self._topic_ready = False

    def _ensure_topic(self) -> None:
        """Create the tree topic if no sequencer has made it yet (reading a missing topic only times out)."""
        if not self._topic_ready:
            self.topic.ensure()
            self._topic_ready = True

    def catch_up(self) -> int:
        """Replay every batch committed before the call; the number of leaves added."""
        self._ensure_topic()
        end = self.topic.settled_end(10.0)  # a commit returns before its marker is written
        added = 0
        position = self.tree.replayed_to(self.topic.topic)
        while position < end:
            position, count = self._replay_once(position, end)
            added += count
        return added

    def _replay_once(self, position: int, end: int) -> tuple[int, int]:
        batches, reached = self.topic.read(position, end)
        if reached <= position:
            return position, 0
        return reached, self.tree.append_batches(self.topic.topic, batches, reached)

    def run_forever(self, stop: threading.Event, retry_s: float = 2.0) -> None:
        """Follow the tree topic until ``stop`` is set (each poll waits up to half a second for news);
        the topic is created if no sequencer has made it yet."""
        while not stop.is_set():
            try:
                self._ensure_topic()
                position = self.tree.replayed_to(self.topic.topic)
                self._replay_once(position, 2**62)
            except (LogUnavailable, ValueError, TreeMismatch, SQLAlchemyError) as exc:
                # the broker or the database away, or a batch that does not continue the tree: nothing
                # was stored, so the next attempt starts from the same offset
                logger.warning("replaying the tree topic failed, retrying: %r", exc)
                stop.wait(retry_s)
        self.topic.close()


class SequencedEvents:
    """The stored events of the tree's leaves: where each sits comes from the tree, the event from Kafka."""

    def __init__(self, log: KafkaEventLog, tree: DatabaseTree):
        self.log = log
        self.tree = tree

    def recorded(self, event_ids: Sequence[str]) -> dict[str, RecordedEvent]:
        """The events among ``event_ids`` that have a leaf, by id, read at the places their leaves name."""
        places = self.tree.leaves_of(event_ids)
        found = self.log.read_at([(partition, offset) for _index, partition, offset in places.values()])
        events = {}
        for event_id, (_index, partition, offset) in places.items():
            event = found.get((partition, offset))
            if event is not None and event.event_id == event_id:
                events[event_id] = event
        return events
