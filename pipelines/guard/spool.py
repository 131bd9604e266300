"""Where a large upload's checked rows wait, as Arrow files, until the caller takes them.

Writing a part can wait on the disk when the page cache is full of other writes, and removing the
folder waits for the file system to discard the blocks of deleted files (0.1 s for the parts of a
2-million-row file), so both happen beside the guard: a part is written while the guard checks the
next chunk (at most one write in flight, so memory holds at most one more chunk), and the folder is
removed in a thread of its own once nothing refers to the spool, so the caller does not wait for it.
At interpreter exit it is removed in line.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from pathlib import Path

import polars as pl


class Spool:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="registry-guard-"))
        self._writes = _Writes()
        weakref.finalize(self, _remove, self.folder, self._writes)

    def write(self, frame: pl.DataFrame, name: str) -> Path:
        """Start writing `frame` (Arrow IPC, uncompressed: written and read back at memory speed)
        once the previous write is done; its path, to read only after `wait`."""
        path = self.folder / name
        self.wait()
        self._writes.start(lambda: frame.write_ipc(path, compression="uncompressed"))
        return path

    def wait(self) -> None:
        """Every part written; an error in writing one is raised here."""
        self._writes.join()


class _Writes:
    """The write in flight and the error of the last one, shared with the folder's removal."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self, write) -> None:
        def run() -> None:
            try:
                write()
            except BaseException as exc:  # raised in the guard's thread, at the next join
                self.error = exc

        self.thread = threading.Thread(target=run, name="guard-spool-write")
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _remove(folder: Path, writes: _Writes) -> None:
    def remove() -> None:
        if writes.thread is not None:
            writes.thread.join()  # a part still being written would be left behind
        shutil.rmtree(folder, ignore_errors=True)

    if threading.main_thread().is_alive():
        threading.Thread(target=remove, name="guard-spool-remove").start()
    else:  # interpreter exit: no thread would be waited for
        remove()
