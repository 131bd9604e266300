"""Turn an uploaded file's bytes into text, in one of the three encodings the contract allows.

The contract names exactly UTF-8 (with or without BOM), UTF-16 with BOM and Windows-1252, so detection is
a decision procedure rather than a statistical guess: a BOM decides; otherwise strict UTF-8; otherwise
Windows-1252, whose five undefined bytes make it fail on most binary files.
"""

from __future__ import annotations

import codecs
import gzip
from dataclasses import dataclass


class UnreadableFile(Exception):
    """The file cannot be turned into text; the whole upload is rejected."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decompress(data: bytes, filename: str) -> bytes:
    if not filename.lower().endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as exc:
        raise UnreadableFile(f"the file ends in .gz but is not a readable gzip file ({exc})") from exc


def decode(data: bytes) -> DecodedText:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedText(data.decode(encoding), "utf-16" if "16" in encoding else "utf-8-bom")
            except UnicodeDecodeError as exc:
                raise UnreadableFile(f"the file starts with a {encoding} byte-order mark but is not "
                                     f"valid {encoding} (byte {exc.start})") from exc
    if b"\x00" in data[:4096]:
        raise UnreadableFile("the file holds NUL bytes: UTF-16 without a byte-order mark or a binary "
                             "file; save it as UTF-8 CSV")
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return DecodedText(data.decode("cp1252"), "windows-1252")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("the encoding is neither UTF-8, UTF-16 with BOM nor Windows-1252; "
                             "save the file as UTF-8 CSV") from exc
