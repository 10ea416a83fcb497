"""Which held-back transactions are closed, and with which marker (``services.hanging_transactions``,
``events.kafka_hanging``): Kafka's rule for a hanging one and what capture answered, decided over a fake
admin client, fake records and a clock moved by hand. (On a real broker:
tests/integration/test_kafka_hanging_transactions.py.)"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from kafka import TopicPartition
from kafka.admin import PartitionProducerState, ProducerState, TransactionDescription, TransactionListing
from kafka.admin import TransactionState
from kafka.errors import TransactionalIdNotFoundError

from events.kafka_records import position_of
from services import hanging_transactions
from services.hanging_transactions import HangingTransactionSweeper, process_gone

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

    def close(self):
        self.closed = True


class Partitions:
    """The records at each (partition, offset), and the markers written: what the wire functions do."""

    def __init__(self, admin: FakeAdmin, records: dict[tuple[int, int], object]):
        self.admin = admin
        self.records = records
        self.markers: list[tuple] = []

    def span_events(self, _reader, topic, partition, start, end):
        return [self.records.get((partition, offset)) for offset in range(start, end)
                if (partition, offset) in self.records]

    def write_marker(self, _admin, topic, txn, commit):
        self.markers.append((txn.partition, txn.producer_id, txn.producer_epoch, "commit" if commit else "abort"))
        self.admin.producers[txn.partition] = [state for state in self.admin.producers[txn.partition]
                                               if state.producer_id != txn.producer_id]  # the marker closes it


def event_at(partition: int, offset: int, event_id: str = "e-1", recorded_at: str = "2026-12-05T09:00:00.000001Z",
             content: str = "h"):
    """A record of an Oretrail event (only what the sweeper reads of it)."""
    return SimpleNamespace(event_id=event_id, position=position_of(partition, offset), recorded_at=recorded_at,
                           hash=f"{content}-{event_id}")


def answers(**positions: int):
    """What capture answered: event id -> position, each with the hash ``event_at`` gives it by default."""
    found = {event_id.replace("_", "-"): (f"h-{event_id.replace('_', '-')}", position)
             for event_id, position in positions.items()}
    return lambda event_ids: {event_id: found[event_id] for event_id in event_ids if event_id in found}


@pytest.fixture
def wire(monkeypatch):
    """Installs the fake partitions of a test: ``wire(admin, records)``."""
    def install(admin: FakeAdmin, records: dict) -> Partitions:
        partitions = Partitions(admin, records)
        monkeypatch.setattr(hanging_transactions, "span_events", partitions.span_events)
        monkeypatch.setattr(hanging_transactions, "write_marker", partitions.write_marker)
        return partitions
    return install


def open_on(partition_start: int, producer_id: int = 7, epoch: int = 3, last_timestamp: int = 111) -> ProducerState:
    return ProducerState(producer_id=producer_id, producer_epoch=epoch, last_sequence=4, last_timestamp=last_timestamp,
                         coordinator_epoch=2, current_transaction_start_offset=partition_start)


def description(producer_id: int, state: TransactionState, *partitions: int, epoch: int = 4) -> TransactionDescription:
    """The coordinator's transaction (by default at an epoch after the open one's, 3: re-initialised since)."""
    return TransactionDescription(coordinator_id=1, state=state, producer_id=producer_id, producer_epoch=epoch,
                                  transaction_timeout_ms=20_000, transaction_start_time_ms=0,
                                  topic_partitions={TopicPartition(TOPIC, p) for p in partitions})


def swept(admin: FakeAdmin, answered=None, log: FakeLog | None = None, after_s: float = 60,
          gone=lambda transactional_id: False) -> tuple[list, list]:
    """Sweep once now and once ``after_s`` later, capture having ``answered`` (see ``answers``);
    what each sweep closed, as (partition, producer id, marker)."""
    clock, closed = Clock(), []
    sweeper = HangingTransactionSweeper(log or FakeLog(), answered or answers(), after_s=after_s, clock=clock,
                                        admin_factory=lambda: admin, reader_factory=lambda: None, gone=gone,
                                        on_close=lambda txn, marker: closed.append(marker))
    first = sweeper.sweep()
    assert admin.calls == 0  # held back from now on: the broker is not asked anything yet
    clock.now += after_s
    second = [(txn.partition, txn.producer_id, marker) for txn, marker in sweeper.sweep()]
    assert closed == [marker for _, _, marker in second]
    return first, second


def test_an_acknowledged_transaction_whose_marker_was_skipped_is_committed(wire):
    # the coordinator decided to commit (capture answered 200 and indexed the event here), then skipped
    # this partition's marker: the events were promised, so they are made readable
    admin = FakeAdmin({1: [open_on(9)]}, {"oretrail-h-1-0": description(7, TransactionState.COMPLETE_COMMIT)})
    partitions = wire(admin, {(1, 9): event_at(1, 9)})
    first, second = swept(admin, answers(e_1=position_of(1, 9)))
    assert first == [] and second == [(1, 7, "commit")]
    assert partitions.markers == [(1, 7, 3, "commit")] and admin.closed


def test_a_copy_the_client_stored_again_elsewhere_is_aborted(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {"oretrail-h-1-0": description(7, TransactionState.EMPTY)})
    partitions = wire(admin, {(1, 9): event_at(1, 9)})
    assert swept(admin, answers(e_1=position_of(1, 40)))[1] == [(1, 7, "abort")]
    assert partitions.markers == [(1, 7, 3, "abort")]


def test_the_whole_transaction_is_judged_not_its_first_event_alone(wire):
    # two API processes took overlapping batches at once: the index kept e-1 at the other copy, but e-3
    # of this transaction was answered 200 here; records of another transaction (e-2) lie between
    later = "2026-12-05T09:00:00.000002Z"
    records = {(1, 9): event_at(1, 9), (1, 10): event_at(1, 10, "e-2", recorded_at=later), (1, 11): event_at(1, 11, "e-3")}
    admin = FakeAdmin({1: [open_on(9)]}, {"a": description(7, TransactionState.EMPTY)})
    partitions = wire(admin, records)
    assert swept(admin, answers(e_1=position_of(1, 40), e_2=position_of(1, 41), e_3=position_of(1, 11)))[1] == [
        (1, 7, "commit")]
    # with e-3 nowhere, the transaction is not all stored elsewhere: nobody can vouch for it
    admin = FakeAdmin({1: [open_on(9)]}, {"a": description(7, TransactionState.EMPTY)})
    partitions = wire(admin, records)
    assert swept(admin, answers(e_1=position_of(1, 40), e_2=position_of(1, 10)))[1] == [] and partitions.markers == []


def test_other_content_under_the_same_id_is_not_aborted(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {"a": description(7, TransactionState.EMPTY)})
    partitions = wire(admin, {(1, 9): event_at(1, 9, content="other")})
    assert swept(admin, answers(e_1=position_of(1, 40)))[1] == [] and partitions.markers == []


@pytest.mark.parametrize("answered, record", [
    (answers(), event_at(1, 9)),  # no client was told it is stored: one that has not retried yet, or a lost index row
    (answers(e_1=position_of(1, 9)), None),  # another program's record
])
def test_what_capture_cannot_vouch_for_is_left_to_an_operator(wire, answered, record):
    admin = FakeAdmin({1: [open_on(9)]}, {})
    partitions = wire(admin, {(1, 9): record})
    assert swept(admin, answered)[1] == [] and partitions.markers == []


def test_an_index_that_cannot_be_read_decides_nothing(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {})
    partitions = wire(admin, {(1, 9): event_at(1, 9)})

    def unreadable(_event_ids):
        raise OSError("database away")

    assert swept(admin, unreadable)[1] == [] and partitions.markers == []


def test_a_producer_no_coordinator_knows_is_hanging(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {})
    wire(admin, {(1, 9): event_at(1, 9)})
    assert swept(admin, answers(e_1=position_of(1, 9)))[1] == [(1, 7, "commit")]


def test_a_transactional_id_gone_between_the_questions_is_hanging(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {"gone": description(7, TransactionState.ONGOING, 1)}, missing=frozenset({"gone"}))
    wire(admin, {(1, 9): event_at(1, 9)})
    assert swept(admin, answers(e_1=position_of(1, 30)))[1] == [(1, 7, "abort")]


def test_a_producer_still_at_the_same_epoch_is_left_to_close_it_unless_its_process_is_gone(wire):
    # not re-initialised since: it may still write to the partition, and its next marker closes the span itself
    for gone, expected in ((False, []), (True, [(1, 7, "commit")])):
        admin = FakeAdmin({1: [open_on(9)]}, {"oretrail-h-1-0": description(7, TransactionState.COMPLETE_COMMIT, epoch=3)})
        wire(admin, {(1, 9): event_at(1, 9)})
        assert swept(admin, answers(e_1=position_of(1, 9)), gone=lambda tid, gone=gone: gone)[1] == expected


def test_an_idle_slot_of_this_process_at_the_same_epoch_is_retired_then_its_transaction_closed(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {"oretrail-h-1-0": description(7, TransactionState.COMPLETE_COMMIT, epoch=3)})
    partitions = wire(admin, {(1, 9): event_at(1, 9)})
    retired = []

    def retire(transactional_id):
        retired.append(transactional_id)
        admin.transactions[transactional_id] = description(7, TransactionState.EMPTY, epoch=4)  # initialised again
        return True

    clock = Clock()
    sweeper = HangingTransactionSweeper(FakeLog(), answers(e_1=position_of(1, 9)), after_s=60, clock=clock,
                                        admin_factory=lambda: admin, reader_factory=lambda: None,
                                        gone=lambda _tid: False, retire=retire)
    sweeper.sweep()
    clock.now += 60
    assert sweeper.sweep() == [] and retired == ["oretrail-h-1-0"] and partitions.markers == []
    clock.now += 10
    assert [(txn.partition, marker) for txn, marker in sweeper.sweep()] == [(1, "commit")]
    assert retired == ["oretrail-h-1-0"]


def test_a_transaction_its_coordinator_will_still_close_is_left_alone_however_long(wire):
    for state in (TransactionState.ONGOING, TransactionState.PREPARE_COMMIT, TransactionState.PREPARE_ABORT):
        admin = FakeAdmin({1: [open_on(9)]}, {"live": description(7, state, 0, 1)})
        partitions = wire(admin, {(1, 9): event_at(1, 9)})
        assert swept(admin, answers(e_1=position_of(1, 9))) == ([], []) and partitions.markers == [], state


def test_a_coordinator_closing_other_partitions_of_it_does_not_close_this_one(wire):
    admin = FakeAdmin({1: [open_on(9)]}, {"live": description(7, TransactionState.ONGOING, 0)})
    wire(admin, {(1, 9): event_at(1, 9)})
    assert swept(admin, answers(e_1=position_of(1, 9)))[1] == [(1, 7, "commit")]


def test_only_the_transaction_at_the_stable_offset_is_looked_at(wire):
    # producer 8's transaction opened later on the same partition: it does not hold readers back
    admin = FakeAdmin({1: [open_on(9), open_on(30, producer_id=8)]},
                      {"a": description(7, TransactionState.EMPTY), "b": description(8, TransactionState.EMPTY)})
    partitions = wire(admin, {(1, 9): event_at(1, 9), (1, 30): event_at(1, 30, "e-2")})
    assert swept(admin, answers(e_1=position_of(1, 9), e_2=position_of(1, 30)))[1] == [(1, 7, "commit")]
    assert partitions.markers == [(1, 7, 3, "commit")]


class WritesAgain(FakeAdmin):
    """The producer writes to the partition between the look and the marker: it is alive."""

    def __init__(self, *args, change: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.change = change

    def describe_producers(self, partitions):
        if self.calls == 1:  # the second question, just before the marker
            self.producers[1] = [state._replace(**{self.change: getattr(state, self.change) + 1})
                                 for state in self.producers[1]]
        return super().describe_producers(partitions)


@pytest.mark.parametrize("change", ["last_timestamp", "last_sequence", "producer_epoch", "producer_id",
                                    "current_transaction_start_offset"])
def test_a_producer_that_writes_again_before_the_marker_is_left_alone(wire, change):
    admin = WritesAgain({1: [open_on(9)]}, {"a": description(7, TransactionState.EMPTY)}, change=change)
    partitions = wire(admin, {(1, 9): event_at(1, 9)})
    assert swept(admin, answers(e_1=position_of(1, 9)))[1] == [] and partitions.markers == []


def test_partitions_not_held_back_long_enough_are_not_touched(wire):
    log = FakeLog()
    admin = FakeAdmin({1: [open_on(9)]}, {})
    partitions = wire(admin, {(1, 9): event_at(1, 9)})
    clock = Clock()
    sweeper = HangingTransactionSweeper(log, answers(e_1=position_of(1, 9)), after_s=60, clock=clock,
                                        admin_factory=lambda: admin, reader_factory=lambda: None)
    sweeper.sweep()
    clock.now += 30
    log.stable[1] = 71  # the coordinator closed it meanwhile
    assert sweeper.sweep() == []
    clock.now += 60
    assert sweeper.sweep() == [] and admin.calls == 0 and partitions.markers == []


def test_a_capture_slot_s_process_is_gone_only_when_it_ran_on_this_host_and_runs_no_more():
    import os
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    assert process_gone(f"oretrail-box-1-{dead}-0", "oretrail", host="box-1")  # host names may hold dashes
    assert not process_gone(f"oretrail-box-1-{os.getpid()}-0", "oretrail", host="box-1")  # this one runs
    assert not process_gone(f"oretrail-elsewhere-{dead}-0", "oretrail", host="box-1")  # another host's: unknown
    assert not process_gone(f"other-box-1-{dead}-0", "oretrail", host="box-1")
    assert not process_gone("oretrail-box-1-x-0", "oretrail", host="box-1")
