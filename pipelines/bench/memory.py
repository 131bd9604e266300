"""The memory a run holds at once: this process and every process it started (dbt), sampled together.

Each process's own high-water mark (VmHWM, ru_maxrss) says how much it peaked at, but not whether
the peaks overlapped: their sum only bounds the machine-wide figure from above. The spec's bound
(8 GB on this machine) is about what is held at the same moment, so a thread sums the resident
memory of the process tree a few times a second and keeps the largest sum.
"""

from __future__ import annotations

import threading

import psutil

INTERVAL_SECONDS = 0.2


class TreePeak:
    """`with TreePeak() as peak: ...` then `peak.mb`: the largest resident memory (RSS, MB) of this
    process and its descendants seen at one sample. RSS counts pages shared between processes
    once per process, so the figure errs high, never low."""

    def __init__(self, interval: float = INTERVAL_SECONDS):
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def mb(self) -> int:
        return round(self.peak_bytes / 2**20)

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:  # a child that ended between the listing and the read
                pass
        self.peak_bytes = max(self.peak_bytes, total)
