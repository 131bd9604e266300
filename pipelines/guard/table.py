"""Read an upload into chunks of text cells, keeping each record's line number.

Fast path: polars' native CSV reader over one block of whole lines at a time, every cell as text. It is
taken while every line is one record, which is checked, not assumed (quote characters balance on each
line). Slow path, from the first block where that fails (a quoted line break, CR-only line ends): the
csv module, record by record, in chunks all the same. Both give the same chunks: the header's columns as
text (missing tokens as null), the record's line (header = 1) in ROW, rows with the wrong number of
fields apart, and the count of blank lines.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.guard.decoding import TextSource
from pipelines.guard.limits import FALLBACK_CHUNK_ROWS, MAX_CELL_CHARS, MAX_COLUMNS, LimitExceeded

ROW = "source_row"  # line number of the record in the file (header = 1), as a spreadsheet shows it
MISSING_TOKENS = ("", "na", "n/a", ".")
MISSING_SPELLINGS = sorted({t for token in MISSING_TOKENS for t in (token, token.upper(), token.capitalize(),
                                                           token.replace("a", "A"))})
_OVERFLOW = "\x1foverflow"
_SEP_LINE = re.compile(r"^sep=(.)\s*$")  # Excel's first line naming the delimiter


class UnreadableTable(Exception):
    """The text is not a table the guard can read (reported as unreadable_file)."""


@dataclass
class Chunk:
    frame: pl.DataFrame  # a column per header column: text (stripped; empty -> null) or Int64; + ROW
    ragged: list[tuple[int, int, list[str]]] = field(default_factory=list)  # (row, n_fields, fields)
    blank_lines: int = 0
    ascii: bool = False  # every cell is ASCII: Unicode normalisation has nothing to do


@dataclass
class Table:
    header: list[str]  # normalised: BOM and spaces trimmed, lower-case
    delimiter: str | None
    chunks: Iterator[Chunk]


def normalise_header(name: str) -> str:
    from pipelines.guard.identifiers import normalise

    return normalise(name.replace("\ufeff", "")).strip().lower()


def missing_to_none(cell: str) -> str | None:
    value = cell.strip()
    return None if value.lower() in MISSING_TOKENS else value


def cells(frame: pl.DataFrame, columns: list[str], strip: bool = True) -> pl.DataFrame:
    """Strip every cell, when any may need it. An empty field is null; the other missing tokens
    (NA, N/A, .) are read as missing by the parser, column by column (parsing.py)."""
    return frame.with_columns(pl.col(c).str.strip_chars() for c in columns) if strip else frame


# -- CSV ---------------------------------------------------------------------------------------------

def read_csv(source: TextSource, sniff, integers: frozenset[str] = frozenset()) -> Table | None:
    """The header and a lazy stream of chunks; None for a file with no header line at all.
    Columns named in `integers` may arrive as Int64 (see _fast_chunk); all others as text."""
    blocks = source.blocks()
    first = next(blocks, b"")
    text = first.decode()
    pos, line, delimiter, sep_bytes = 0, 1, None, 0
    sep = _SEP_LINE.match(_line_at(text, 0).lstrip("\ufeff"))
    if sep:
        delimiter, pos = sep.group(1), len(_line_at(text, 0))
        sep_bytes = len(text[:pos].encode())
    while pos < len(text) and not _line_at(text, pos).strip():
        pos += len(_line_at(text, pos))
        line += 1
    if pos >= len(text):
        return None
    header_line = _line_at(text, pos)
    delimiter = delimiter or sniff(text[pos:pos + 64 * 1024])
    if ("\n" not in text and "\r" in text) or _quote_opens_line(header_line):
        return _slow_table(_chain(first[sep_bytes:], blocks), delimiter)
    header = _header(header_line, delimiter)
    rest = first[len(text[:pos + len(header_line)].encode()):]
    return Table(header, delimiter, _fast_chunks(_chain(rest, blocks), header, delimiter, line + 1,
                                                 integers))


def _line_at(text: str, pos: int) -> str:
    """The line starting at `pos`, with its line break."""
    end = text.find("\n", pos)
    return text[pos:] if end < 0 else text[pos:end + 1]


def _quote_opens_line(line: str) -> bool:
    return line.count('"') % 2 == 1


def _header(line: str, delimiter: str) -> list[str]:
    try:
        record = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
    except csv.Error as exc:
        raise UnreadableTable(f"the header line cannot be read ({exc})") from exc
    return header_of(record)


def header_of(record: list[str]) -> list[str]:
    """Normalised column names of a header record, without the empty cells a spreadsheet pads."""
    header = [normalise_header(c) for c in record]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise LimitExceeded("too_many_columns", f"the file has {len(header)} columns; the contract has "
                            f"at most 55 and the guard reads at most {MAX_COLUMNS}")
    return header


def _chain(first: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _fast_chunks(blocks: Iterator[bytes], header: list[str], delimiter: str, line: int,
                 integers: frozenset[str]) -> Iterator[Chunk]:
    for block in blocks:
        chunk = _fast_chunk(block, header, delimiter, line, integers)
        if chunk is None:  # this block needs the slow path; so does the rest of the file
            yield from slow_chunks(_records(_chain(block, blocks), delimiter), header, line)
            return
        yield chunk
        line += chunk.frame.height + len(chunk.ragged) + chunk.blank_lines


def _fast_chunk(block: bytes, header: list[str], delimiter: str, line: int,
                integers: frozenset[str]) -> Chunk | None:
    """One block of whole lines through polars, or None when a line is not one record.

    Integer columns are first read as integers: when every line's length shows that each of them was
    written the plain way ("41", not "41.0", "+41" or "NA"), the block needs no text for them and no
    parsing; otherwise the block is read again with every cell as text."""
    width = len(header)
    if not width or b"\x1f" in block or (b"\r" in block and block.count(b"\r") != block.count(b"\r\n")):
        return None  # no named column, the line reader's separator in the data, or CR-only line ends
    lines = _Lines(block)
    length = lines.length
    if (length.max() or 0) > MAX_CELL_CHARS:
        _check_cell_length(lines, delimiter)
    quotes = lines.occurrences(b'"') if b'"' in block else None
    if quotes is not None and ((quotes % 2) == 1).any():
        return None  # a quoted field spans lines
    ascii = block.isascii()
    padded = b" " in block or (delimiter != "\t" and b"\t" in block) or not ascii
    plain = not padded and len(set(header)) == width
    typed = {i for i, h in enumerate(header) if h in integers} if plain else set()
    read = _read_block(block, lines, length, quotes, width, delimiter, typed)
    if read is not None and typed and read[2].any():
        read = _read_block(block, lines, length, quotes, width, delimiter, set())
    if read is None:
        return None
    frame, blank, odd = read
    ragged = []
    for i in odd.arg_true() if odd.any() else []:
        fields_of = _split(lines.text(i), delimiter)
        while len(fields_of) > width and not fields_of[-1].strip():
            fields_of.pop()  # trailing empty cells (spreadsheets pad rows)
        if len(fields_of) != width:
            ragged.append((line + i, len(fields_of), fields_of))
    names = _unique(header)
    frame = frame.select(*(pl.col(f"\x1fc{i}").alias(h) for i, h in enumerate(names)),
                         pl.int_range(line, line + frame.height, dtype=pl.Int64).alias(ROW))
    drop = blank
    if ragged:
        drop = drop | frame[ROW].is_in([r for r, _, _ in ragged])
    if drop.any():
        frame = frame.filter(~drop)
    text = [h for i, h in enumerate(names) if i not in typed]
    return Chunk(cells(frame, text, strip=padded), ragged, int(blank.sum()), ascii)


class _Lines:
    """A block's lines, found from the positions of its line breaks (numpy over the bytes): their
    lengths in bytes without the line break (CR LF counts as one), and a line's text only when a
    rare case asks for it. A line break is one byte, so this is one pass over the block."""

    def __init__(self, block: bytes):
        self.block = block
        self.data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(self.data == ord("\n"))
        if block and not block.endswith(b"\n"):
            ends = np.append(ends, len(block))  # the file's last line, without a line break
        self.starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
        self.ends = ends.astype(np.int64)
        length = self.ends - self.starts
        if b"\r" in block:  # CR LF: every CR is followed by LF here (CR-only line ends take the slow path)
            length -= (length > 0) & (self.data[np.maximum(self.ends - 1, 0)] == ord("\r"))
        self.count = len(self.ends)
        self.length = pl.Series("length", length)

    def text(self, i: int) -> str:
        return self.block[self.starts[i]:self.ends[i]].decode()

    def occurrences(self, char: bytes) -> pl.Series:
        """How many times a one-byte character occurs on each line."""
        at = np.flatnonzero(self.data == ord(char))
        return pl.Series("count", np.searchsorted(at, self.ends) - np.searchsorted(at, self.starts))

    def ends_with(self, char: str) -> pl.Series:
        """Whether each line's last character (before the line break) is the one-byte `char`."""
        length = self.length.to_numpy()
        last = self.data[np.maximum(self.starts + length - 1, 0)] == ord(char)
        return pl.Series("ends_with", (length > 0) & last)

    def texts(self) -> pl.Series | None:
        """Every line as text (polars' reader with a separator the block does not hold), or None
        when that reader sees other lines than the line breaks do."""
        texts = pl.read_csv(self.block, has_header=False, separator="\x1f", quote_char=None,
                            schema={"l": pl.String}, raise_if_empty=False)["l"]
        return texts if texts.len() == self.count else None


def _read_block(block: bytes, lines: _Lines, length: pl.Series, quotes: pl.Series | None, width: int,
                delimiter: str, typed: set[int]) -> tuple[pl.DataFrame, pl.Series, pl.Series] | None:
    """The block's fields (positions in `typed` as Int64), which lines are blank, and which are
    not one record of `width` plain fields."""
    names = [f"\x1fc{i}" for i in range(width)] + [_OVERFLOW]
    schema = {n: pl.Int64 if i in typed else pl.String for i, n in enumerate(names)}
    try:
        frame = pl.read_csv(block, has_header=False, separator=delimiter,
                            quote_char='"' if quotes is not None else None, schema=schema,
                            truncate_ragged_lines=True, missing_columns="insert", extra_columns="ignore",
                            ignore_errors=bool(typed), raise_if_empty=False)
    except pl.exceptions.ComputeError:
        return None  # quoting polars refuses (text after a closing quote): the csv module reads it
    if frame.height != lines.count:
        return None
    # A line is one record of exactly `width` fields when its length is the fields' lengths plus the
    # delimiters between them (and the quote characters the reader removed): no counting per field.
    # An integer read from its plain spelling has as many characters as digits (and a minus sign).
    ranges = _ranges(frame, [names[i] for i in sorted(typed)])
    lengths = (_digits(pl.col(n), *ranges[n]) if i in typed else pl.col(n).str.len_bytes().fill_null(0)
               for i, n in enumerate(names[:-1]))
    fields, blank = frame.select(pl.sum_horizontal(lengths).alias("fields"),
                                 pl.all_horizontal(pl.all().is_null()).alias("blank")).get_columns()
    if quotes is not None:
        fields = fields + quotes
    exact = length == fields + (width - 1)
    if b" " in block or b"\t" in block:
        texts = lines.texts()
        if texts is None:
            return None
        blank = blank | texts.str.contains(rf'^[\s{re.escape(delimiter)}"]*$').fill_null(True)
    odd = ~blank & ~exact
    if not odd.any():  # the usual block: no line needs the trailing-delimiter test
        return frame, blank, odd
    trailing = ((length == fields + width) & frame[_OVERFLOW].is_null()
                & lines.ends_with(delimiter)).fill_null(False)
    return frame, blank, odd & ~trailing


def _ranges(frame: pl.DataFrame, columns: list[str]) -> dict[str, tuple[int, int]]:
    """Each integer column's smallest and largest value in the block (0, 0 when all are null)."""
    if not columns:
        return {}
    low_high = frame.select(*(pl.col(n).min().fill_null(0).alias(f"{n}\x1fmin") for n in columns),
                            *(pl.col(n).max().fill_null(0).alias(f"{n}\x1fmax") for n in columns)).row(0)
    return {n: (low_high[i], low_high[len(columns) + i]) for i, n in enumerate(columns)}


def _digits(value: pl.Expr, low: int, high: int) -> pl.Expr:
    """Characters of an integer written plainly, for the contract's integers (all below 10,000);
    0 for a null (an empty field). A larger value breaks the contract anyway: -100 makes its line
    fail the length test, so the block is read again as text and judged there. Only the comparisons
    the column's range in the block (`low`..`high`) can make true are computed: a questionnaire item
    of 0-3 needs none, so the length test costs little more than the read."""
    magnitude = max(abs(low), abs(high))
    if magnitude >= 10_000:
        magnitude_of = value.abs()
        digits = 1 + (magnitude_of >= 10).cast(pl.Int64) + (magnitude_of >= 100).cast(pl.Int64) + (
            magnitude_of >= 1000).cast(pl.Int64) + (value < 0).cast(pl.Int64)
        return pl.when(magnitude_of >= 10_000).then(-100).otherwise(digits).fill_null(0)
    digits = value.is_not_null().cast(pl.Int64)
    for power in (10, 100, 1000):
        if magnitude >= power:
            digits = digits + (value.abs() >= power).cast(pl.Int64)
    if low < 0:
        digits = digits + (value < 0).cast(pl.Int64)
    return digits.fill_null(0)


def _unique(header: list[str]) -> list[str]:
    """Column names for the frame; a repeated header (rejected anyway) gets its position appended."""
    return [h if header.count(h) == 1 else f"{h}\x1f{i}" for i, h in enumerate(header)]


def _split(line: str, delimiter: str) -> list[str]:
    _allow_long_fields()
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])


def _allow_long_fields() -> None:
    """The csv module's own limit would raise mid-file; the guard's MAX_CELL_CHARS decides instead."""
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 2**20))


def _check_cell_length(lines: _Lines, delimiter: str) -> None:
    for i in (lines.length > MAX_CELL_CHARS).arg_true():
        if any(len(cell) > MAX_CELL_CHARS for cell in _split(lines.text(i), delimiter)):
            raise _cell_too_long()


def _cell_too_long() -> LimitExceeded:
    return LimitExceeded("cell_too_long", f"a cell is longer than {MAX_CELL_CHARS} characters; "
                                          "the contract's values are at most 32")


# -- slow path ---------------------------------------------------------------------------------------

def _records(blocks: Iterator[bytes], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(lines consumed before the record, fields) for every record of the csv module's reading."""
    _allow_long_fields()
    text = (line for block in blocks for line in block.decode().splitlines(keepends=True))
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    consumed = 0
    try:
        for record in reader:
            yield consumed, record
            consumed = reader.line_num
    except csv.Error as exc:
        if "field larger" in str(exc):
            raise _cell_too_long() from exc
        raise UnreadableTable(f"the file is not valid CSV near line {reader.line_num} "
                              f"({str(exc).split('(')[0].strip()})") from exc


def _slow_table(blocks: Iterator[bytes], delimiter: str) -> Table | None:
    """The whole file on the slow path: the header is the first non-blank record."""
    records = _records(blocks, delimiter)
    for consumed, record in records:
        if any(cell.strip() for cell in record):
            header = header_of(record)
            return Table(header, delimiter, slow_chunks(records, header, 1, relative=False))
    return None


def slow_chunks(records: Iterable[tuple[int, list[str]]], header: list[str], line: int,
                 relative: bool = True) -> Iterator[Chunk]:
    """Chunks from csv records; `consumed` counts from `line` when relative, from line 1 otherwise."""
    width = len(header)
    rows, kept, ragged, blank = [], [], [], 0
    for consumed, record in records:
        start = (line + consumed) if relative else consumed + 1
        if any(len(cell) > MAX_CELL_CHARS for cell in record):
            raise _cell_too_long()
        while len(record) > width and not record[-1].strip():
            record = record[:-1]
        if not any(cell.strip() for cell in record):
            blank += 1
        elif len(record) != width:
            ragged.append((start, len(record), record))
        else:
            kept.append(record)
            rows.append(start)
        if len(kept) >= FALLBACK_CHUNK_ROWS:
            yield _chunk(header, kept, rows, ragged, blank)
            rows, kept, ragged, blank = [], [], [], 0
    yield _chunk(header, kept, rows, ragged, blank)


def _chunk(header: list[str], kept: list[list[str]], rows: list[int], ragged, blank: int) -> Chunk:
    frame = pl.DataFrame({**{f"\x1fc{i}": [r[i] for r in kept] for i in range(len(header))}, ROW: rows},
                         schema={**{f"\x1fc{i}": pl.String for i in range(len(header))}, ROW: pl.Int64})
    frame = frame.rename({f"\x1fc{i}": h for i, h in enumerate(_unique(header))})
    return Chunk(cells(frame, [c for c in frame.columns if c != ROW]), ragged, blank)
