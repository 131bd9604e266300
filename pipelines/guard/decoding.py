"""Turn an uploaded file into UTF-8 text blocks, in one of the three encodings the contract allows.

The contract names exactly UTF-8 (with or without BOM), UTF-16 with BOM and Windows-1252, so detection is
a decision procedure rather than a statistical guess: a BOM decides; otherwise strict UTF-8; otherwise
Windows-1252, whose five undefined bytes make it fail on most binary files. The file is read a block at
a time (gzip included), so memory stays bounded whatever its size.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pipelines.guard.limits import BLOCK_BYTES, FIRST_BLOCK_BYTES, MAX_DECOMPRESSED_BYTES, LimitExceeded


class UnreadableFile(Exception):
    """The file cannot be turned into text; the whole upload is rejected."""


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-bom"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)


@dataclass
class TextSource:
    """An upload as UTF-8 blocks that each end at a line break (the last may not)."""

    raw: BinaryIO
    encoding: str  # as reported: utf-8, utf-8-bom, utf-16, windows-1252
    codec: str
    ramp: bool = False  # first blocks smaller (see FIRST_BLOCK_BYTES)

    def blocks(self) -> Iterator[bytes]:
        self.raw.seek(0)
        decoder = codecs.getincrementaldecoder(self.codec)()
        carry, total = b"", 0
        size = min(FIRST_BLOCK_BYTES if self.ramp else BLOCK_BYTES, BLOCK_BYTES)
        while True:
            try:
                data = self.raw.read(size)
                size = min(2 * size, BLOCK_BYTES)
            except (OSError, EOFError, zlib.error) as exc:
                raise UnreadableFile(f"the file is not a readable gzip file ({type(exc).__name__})") from exc
            total += len(data)
            if total > MAX_DECOMPRESSED_BYTES:
                raise LimitExceeded("file_too_large", f"the file is larger than "
                                    f"{MAX_DECOMPRESSED_BYTES // 2**30} GiB (unpacked); split it by month")
            final = not data
            text = self._text(decoder, data, final)
            if final:
                if carry + text:
                    yield carry + text
                return
            # One copy per block: the carried partial line joined to the new text up to its last line break.
            cut = text.rfind(b"\n") + 1
            if cut:
                yield b"".join((carry, memoryview(text)[:cut])) if carry or cut < len(text) else text
                carry = text[cut:]
            else:
                carry += text

    def _text(self, decoder, data: bytes, final: bool) -> bytes:
        try:
            if self.codec == "utf-8":  # already UTF-8: validate without a round trip when ASCII
                if data.isascii():
                    return data
                return decoder.decode(data, final).encode()
            return decoder.decode(data, final).encode()
        except UnicodeDecodeError as exc:
            if self.codec == "utf-8":
                raise WrongEncoding("", retry=True) from exc
            if self.codec == "cp1252":
                raise WrongEncoding("the encoding is neither UTF-8, UTF-16 with BOM nor Windows-1252; "
                                    "save the file as UTF-8 CSV", retry=False) from exc
            raise WrongEncoding(f"the file starts with a {self.encoding} byte-order mark but is not valid "
                                f"{self.encoding}", retry=False) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(f"the file is not a readable gzip file ({type(exc).__name__})") from exc


class WrongEncoding(UnreadableFile):
    """The bytes do not decode in the encoding chosen for them. Found while the file is read (no
    separate pass); a file first read as UTF-8 is then read again as Windows-1252."""

    def __init__(self, message: str, retry: bool):
        super().__init__(message)
        self.retry = retry


def open_upload(source: bytes | Path, filename: str) -> BinaryIO:
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    if not filename.lower().endswith(".gz"):
        return raw
    if raw.read(2) != b"\x1f\x8b":
        raise UnreadableFile("the file ends in .gz but is not a gzip file")
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw)


def text_source(raw: BinaryIO, windows_1252: bool = False, ramp: bool = False) -> TextSource:
    """Decide the encoding from the start of the file; `windows_1252` after UTF-8 failed; `ramp`:
    the first blocks smaller."""
    try:
        head = raw.read(4096)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"the file is not a readable gzip file ({type(exc).__name__})") from exc
    for bom, codec, name in _BOMS:
        if head.startswith(bom):
            return TextSource(raw, name, codec, ramp)
    if b"\x00" in head:
        raise UnreadableFile("the file holds NUL bytes: UTF-16 without a byte-order mark or a binary "
                             "file; save it as UTF-8 CSV")
    return TextSource(raw, *(("windows-1252", "cp1252") if windows_1252 else ("utf-8", "utf-8")), ramp)
