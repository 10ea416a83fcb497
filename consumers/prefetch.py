"""Reading ahead: an iterator whose items are produced in a thread of their own, a few ahead.

A rebuild into PostgreSQL alternates two kinds of work: reading and decoding the next batch of the
log (Python), and waiting for the server to apply the current one (the thread sleeps on a socket).
Producing the batches in another thread lets the first happen during the second. The source
iterator is created, advanced and closed in that thread only: a Kafka consumer inside it is used
by one thread, as its client library requires.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")

_END = object()  # the source is exhausted


class _Failed:
    """What the source raised, to be raised again in the reading thread."""

    def __init__(self, error: BaseException):
        self.error = error


class Prefetched(Generic[T]):
    """The items of ``source()``, produced by a thread of their own: at most ``depth`` items wait for
    the reader while the thread makes the next one.

    Iterate it like the source; what the source raises is raised here, after the items it produced
    before. :meth:`close` (or leaving a ``with`` block) stops the thread and closes the source in it.
    """

    def __init__(self, source: Callable[[], Iterator[T]], depth: int = 1, name: str = "prefetch"):
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._produce, args=(source,), name=name, daemon=True)
        self._thread.start()

    def _produce(self, source: Callable[[], Iterator[T]]) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = source()
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread, which raises it
            self._put(_Failed(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's cleanup (closing its consumer) runs in the thread that used it

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless stopped first; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> "Prefetched[T]":
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._items.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failed):
            self._done = True
            raise item.error
        return item

    def close(self) -> None:
        """Stop producing, close the source (in its thread) and wait for the thread to end."""
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "Prefetched[T]":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
