"""A projector's per-batch notes are per thread: a rebuild replaying through the live runner's
projector in another thread never mixes its batch's notes with the live batch's."""
from __future__ import annotations

import threading

from consumers.batch import PerThread
from consumers.checks.projector import ChecksProjector
from consumers.provenance.projector import ProvenanceProjector


class Notes:
    touched = PerThread()


def test_each_thread_sees_only_what_it_set():
    notes = Notes()
    notes.touched = {"live"}
    in_rebuild = threading.Event()
    live_changed = threading.Event()
    seen: list[set[str]] = []

    def rebuild() -> None:
        notes.touched = {"staged"}
        in_rebuild.set()
        live_changed.wait(5)
        notes.touched.add("staged-2")
        seen.append(notes.touched)

    thread = threading.Thread(target=rebuild)
    thread.start()
    assert in_rebuild.wait(5)
    notes.touched = {"live-2"}  # a new live batch starts while the rebuild's is in progress
    live_changed.set()
    thread.join(5)
    assert seen == [{"staged", "staged-2"}]
    assert notes.touched == {"live-2"}


def test_the_projectors_that_note_what_a_batch_touched_keep_it_per_thread():
    for projector in (ProvenanceProjector(), ChecksProjector()):
        assert isinstance(type(projector).__dict__["_entities"], PerThread)
        projector._entities = {("site", "a")}
        other: list[object] = []
        thread = threading.Thread(target=lambda: other.append(getattr(projector, "_entities", None)))
        thread.start()
        thread.join(5)
        assert other == [None]  # another thread has not started a batch: it sees nothing of this one
