"""Read the next chunk of an upload while the guard checks the current one.

Reading a block (decoding it and polars' CSV reader) and checking it (typing, identifier scan,
duplicate hashes, contract) take about the same time, and both run mostly in polars, outside the
GIL: a reader thread one chunk ahead lets the two use both cores. At most one chunk waits, so memory
stays bounded. An error raised while reading (a limit, the encoding) reaches the caller at the chunk
where it happened, as if the chunks were read in line.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            offer((_END, exc))

    reader = threading.Thread(target=produce, name="guard-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()  # the caller stopped early or failed: the reader gives up its next offer
        reader.join()
