"""The webhooks projector: each event, for each active subscription that wants it, becomes a row of
the delivery outbox, written in the runner's transaction, the one that stores the projector's
position. So an event is enqueued exactly when the position passes it: a crash before the commit
enqueues it again on the next try (a duplicate row is ignored), a crash after repeats nothing.

It runs on both logs like every projector (``consumers.runners``): pages of the SQLite log, or a
consumer group on Kafka. Its output is not a read model: the outbox and the subscriptions belong to
``services.webhooks`` and a rebuild never drops them, so ``metadata`` is empty. A rebuild (the
runner's undo of a retraction) replays into a staging area where those tables do not exist: there
``apply_batch`` enqueues into the live outbox through ``outbox_engine``, in a transaction of its
own before the rebuild switches its position in: events the live projector had not reached yet are
enqueued then (at least once), the others are already there and left as they are. A retraction is
itself an event, delivered like any other; an event retracted before this projector met it is
still delivered (``apply_retracted``): a receiver sees what the log says, and the feed shows it too.
"""
from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, Engine, MetaData, inspect

from consumers.projector import Projector
from events.catalogue import CATALOGUE
from events.log import RecordedEvent
from services.database import write_transaction
from services.webhooks.outbox import active_subscriptions, delivery_rows, enqueue
from services.webhooks.tables import deliveries, subscriptions

_NO_TABLES = MetaData()


class WebhooksProjector(Projector):
    """Enqueues the live deliveries of every event to the subscriptions that want it."""

    name = "webhooks"
    version = 1
    handles = frozenset(CATALOGUE)

    def __init__(self, outbox_engine: Engine | None = None) -> None:
        #: the live database, for a rebuild's replay (see the module); set by the composition root
        self.outbox_engine = outbox_engine

    @property
    def metadata(self) -> MetaData:
        """No read-model tables: the outbox is ``services.webhooks.tables``, which a rebuild must not drop."""
        return _NO_TABLES

    def apply(self, tx: Connection, event: RecordedEvent) -> None:
        """Enqueue ``event`` for the subscriptions that want it."""
        self.apply_batch(tx, [event])

    def apply_batch(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        """Enqueue every event of the batch for each active subscription made before it that wants it."""
        if not events:
            return
        if _live(tx):
            self._enqueue(tx, events)
        elif self.outbox_engine is not None:  # a rebuild's staging area: the live outbox, now
            with write_transaction(self.outbox_engine) as live:
                self._enqueue(live, events)

    @staticmethod
    def _enqueue(tx: Connection, events: Sequence[RecordedEvent]) -> None:
        wanting = active_subscriptions(tx)
        if wanting:
            enqueue(tx, delivery_rows((subscription, event) for event in events for subscription in wanting
                                      if subscription.wants(event) and subscription.follows(event)))

    def apply_retracted(self, tx: Connection, retracted: Sequence[tuple[RecordedEvent, str]]) -> None:
        """Events retracted before they reached this projector are delivered all the same (see the module)."""
        self.apply_batch(tx, [event for event, _retraction in retracted])


def _live(tx: Connection) -> bool:
    """Whether ``tx`` sees the outbox (the live database, not a rebuild's staging area)."""
    names = set(inspect(tx).get_table_names())
    return subscriptions.name in names and deliveries.name in names
