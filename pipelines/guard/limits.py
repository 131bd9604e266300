"""What the guard refuses to read, so that no upload can exhaust the machine (documented in README).

The contract's widest file has 55 columns and its longest value 32 characters, so these limits sit far
above anything a clinic sends and far below what would hurt.
"""

from __future__ import annotations

MAX_DECOMPRESSED_BYTES = 4 * 2**30  # a .csv.gz may unpack to at most 4 GiB (and a .csv be that large)
MAX_COLUMNS = 1_000
MAX_CELL_CHARS = 10_000
BLOCK_BYTES = 16 * 2**20  # the guard reads, checks and forgets the file this much at a time
# A file checked on its own starts with a block this small, each next one twice as large up to
# BLOCK_BYTES: the check of a block waits for its reading (another thread), so a small first block
# lets the two start working together sooner.
FIRST_BLOCK_BYTES = 2**20
FALLBACK_CHUNK_ROWS = 200_000  # rows per chunk on the slow path (quoted line breaks, CR line ends)


class LimitExceeded(Exception):
    """The upload is larger than a documented limit; the whole file is refused, unread beyond it."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
