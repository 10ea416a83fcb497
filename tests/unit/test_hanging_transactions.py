"""Which held-back transactions are aborted (``services.hanging_transactions``, ``events.kafka_hanging``):
Kafka's rule for a hanging one, decided over a fake admin client and a clock moved by hand.
(On a real broker: tests/integration/test_kafka_hanging_transactions.py.)"""
from __future__ import annotations

from kafka import TopicPartition
from kafka.admin import PartitionProducerState, ProducerState, TransactionDescription, TransactionListing
from kafka.admin import TransactionState
from kafka.errors import TransactionalIdNotFoundError

from services.hanging_transactions import HangingTransactionSweeper

TOPIC = "oretrail.events"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLog:
    """Both ends of each partition, set by the test."""

    servers = ["kafka:9092"]
    topic = TOPIC
    timeout_ms = 1000

    def __init__(self) -> None:
        self.stable = {0: 4, 1: 9}
        self.highs = {0: 4, 1: 71}

    def end_offsets(self):
        return dict(self.stable)

    def high_watermarks(self):
        return dict(self.highs)


class FakeAdmin:
    """The broker's answers: open transactions per partition, and the coordinator's transactions."""

    def __init__(self, producers: dict[int, list[ProducerState]], transactions: dict[str, TransactionDescription],
                 missing: frozenset[str] = frozenset()):
        self.producers = producers
        self.transactions = transactions
        self.missing = missing  # listed, then gone before it is described
        self.aborted: list[tuple] = []
        self.closed = False
        self.calls = 0

    def describe_producers(self, partitions):
        self.calls += 1
        return {tp: PartitionProducerState(list(self.producers.get(tp.partition, []))) for tp in partitions}

    def list_transactions(self, producer_id_filters=None):
        return {1: [TransactionListing(tid, d.producer_id, d.state) for tid, d in self.transactions.items()
                    if d.producer_id in producer_id_filters]}

    def describe_transactions(self, transactional_ids):
        if set(transactional_ids) & self.missing:
            raise TransactionalIdNotFoundError()
        return {tid: self.transactions[tid] for tid in transactional_ids}

    def abort_transaction(self, spec):
        self.aborted.append((spec.topic_partition.partition, spec.producer_id, spec.producer_epoch,
                             spec.coordinator_epoch))
        for state in self.producers.get(spec.topic_partition.partition, []):  # the marker closes it
            if state.producer_id == spec.producer_id:
                self.producers[spec.topic_partition.partition].remove(state)
                break

    def close(self):
        self.closed = True


def open_on(partition_start: int, producer_id: int = 7, epoch: int = 3, last_timestamp: int = 111) -> ProducerState:
    return ProducerState(producer_id=producer_id, producer_epoch=epoch, last_sequence=4, last_timestamp=last_timestamp,
                         coordinator_epoch=2, current_transaction_start_offset=partition_start)


def description(producer_id: int, state: TransactionState, *partitions: int) -> TransactionDescription:
    return TransactionDescription(coordinator_id=1, state=state, producer_id=producer_id, producer_epoch=3,
                                  transaction_timeout_ms=20_000, transaction_start_time_ms=0,
                                  topic_partitions={TopicPartition(TOPIC, p) for p in partitions})


def swept(admin: FakeAdmin, log: FakeLog | None = None, after_s: float = 60) -> tuple[list, list]:
    """Sweep once now and once ``after_s`` later; what each sweep aborted."""
    clock, aborted = Clock(), []
    sweeper = HangingTransactionSweeper(log or FakeLog(), after_s=after_s, clock=clock, admin_factory=lambda: admin,
                                        on_abort=aborted.append)
    first = sweeper.sweep()
    assert admin.calls == 0  # held back from now on: the broker is not asked anything yet
    clock.now += after_s
    return first, sweeper.sweep()


def test_a_transaction_its_coordinator_knows_no_more_is_aborted_once_held_back_long_enough():
    admin = FakeAdmin({1: [open_on(9)]}, {"oretrail-h-1-0": description(7, TransactionState.COMPLETE_COMMIT)})
    first, second = swept(admin)
    assert first == []
    assert [(t.partition, t.producer_id, t.start_offset, t.transactional_id) for t in second] == [
        (1, 7, 9, "oretrail-h-1-0")]
    assert admin.aborted == [(1, 7, 3, 2)] and admin.closed


def test_a_producer_no_coordinator_knows_is_hanging():
    admin = FakeAdmin({1: [open_on(9)]}, {})
    assert [t.transactional_id for t in swept(admin)[1]] == [None]
    assert admin.aborted == [(1, 7, 3, 2)]


def test_a_transactional_id_gone_between_the_questions_is_hanging():
    admin = FakeAdmin({1: [open_on(9)]}, {"gone": description(7, TransactionState.ONGOING, 1)}, missing=frozenset({"gone"}))
    assert len(swept(admin)[1]) == 1 and admin.aborted == [(1, 7, 3, 2)]


def test_a_transaction_its_coordinator_will_still_close_is_left_alone_however_long():
    for state in (TransactionState.ONGOING, TransactionState.PREPARE_COMMIT, TransactionState.PREPARE_ABORT):
        admin = FakeAdmin({1: [open_on(9)]}, {"live": description(7, state, 0, 1)})
        assert swept(admin) == ([], []) and admin.aborted == [], state


def test_only_the_transaction_at_the_stable_offset_is_looked_at():
    # producer 8's transaction opened later on the same partition: it does not hold readers back
    admin = FakeAdmin({1: [open_on(9), open_on(30, producer_id=8)]},
                      {"a": description(7, TransactionState.EMPTY), "b": description(8, TransactionState.EMPTY)})
    assert [t.producer_id for t in swept(admin)[1]] == [7]
    assert admin.aborted == [(1, 7, 3, 2)]


class WritesAgain(FakeAdmin):
    """The producer writes to the partition between the look and the abort: it is alive."""

    def describe_producers(self, partitions):
        if self.calls == 1:  # the second question, just before the abort
            self.producers[1] = [state._replace(last_timestamp=state.last_timestamp + 1) for state in self.producers[1]]
        return super().describe_producers(partitions)


def test_a_producer_that_writes_again_before_the_abort_is_left_alone():
    admin = WritesAgain({1: [open_on(9)]}, {"a": description(7, TransactionState.EMPTY)})
    assert swept(admin)[1] == [] and admin.aborted == []


def test_partitions_not_held_back_long_enough_are_not_touched():
    log = FakeLog()
    admin = FakeAdmin({1: [open_on(9)]}, {})
    clock = Clock()
    sweeper = HangingTransactionSweeper(log, after_s=60, clock=clock, admin_factory=lambda: admin)
    sweeper.sweep()
    clock.now += 30
    log.stable[1] = 71  # the coordinator closed it meanwhile
    assert sweeper.sweep() == []
    clock.now += 60
    assert sweeper.sweep() == [] and admin.calls == 0 and admin.aborted == []
