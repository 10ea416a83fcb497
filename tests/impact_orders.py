"""A story's events as streams, and the impact read model of any order they reach it in (order tolerance tests)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from consumers.impact.projector import ImpactProjector
from events.envelope import prepare
from events.log import RecordedEvent


class StoryStreams:
    """The events of ``chain`` grouped by stream, each recorded by the server at its place in the story
    (``recorded_at`` is a property of the event, not of the order it arrives in)."""

    def __init__(self, chain: list[dict], day: str):
        self.chain = chain
        self.streams: dict[str, list[dict]] = defaultdict(list)
        for envelope in chain:
            self.streams[prepare(envelope).stream_id].append(envelope)
        #: one label a stream per event of it: a permutation of these is an interleaving of the streams
        self.labels = [stream for stream, events in self.streams.items() for _ in events]
        self.recorded_at = {envelope["event_id"]: f"{day}T00:{index // 60:02d}:{index % 60:02d}Z"
                            for index, envelope in enumerate(chain)}

    def interleaved(self, labels: list[str]) -> list[dict]:
        """The events in the order ``labels`` (a permutation of :attr:`labels`) takes the streams, each in its own order."""
        cursors = {stream: iter(events) for stream, events in self.streams.items()}
        return [next(cursors[stream]) for stream in labels]

    def project_impact(self, order: list[dict]) -> Engine:
        """The impact read model (in memory) of ``order``, applied event by event as a runner would."""
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        projector = ImpactProjector()
        projector.metadata.create_all(engine)
        with engine.begin() as tx:
            for position, envelope in enumerate(order, start=1):
                new = prepare(envelope)
                if new.type in projector.handles:
                    projector.apply(tx, RecordedEvent(position, new.event_id, new.type, new.stream_id,
                                                      self.recorded_at[new.event_id], new.hash, new.body))
        return engine
