"""Many small CSV uploads of one kind checked in one columnar pass, with the outcome each gets alone.

A regional ingest guards tens of thousands of files of 1-200 rows; checked one by one, nearly all
their cost is fixed per file (each polars call, each pandera call). Here the small files of one kind
become ONE table: the data lines of the files with one delimiter and width are joined and read once
(how a line splits depends on nothing else), named per header afterwards, and put side by side by
column name. Each line keeps its place, so a row's upload and its line in that upload follow from its
line in the whole. Parsing (once per decimal-comma class: `;` files read decimal commas), the
identifier scan, the site check, the duplicate hashes and pandera then run once over the table, and
each upload gets its share:

- every rule is decided row by row, so a row's verdict in the table is its verdict in its file;
- the identifier scan answers per column and rule: the table is scanned, and only a part with a
  finding is split in halves and scanned again, down to the uploads that hold one;
- duplicates are per upload: an upload whose rows repeat no key (almost all) is settled here; one
  that does, or that has any failing row, is finished by the per-file code (`check.finish`); one with
  a ragged row is checked alone from the start.

A file this pass cannot take as it is (not plain .csv bytes, larger than SMALL_BYTES, a `sep=` line, a
blank line before the header, any quote character, CR-only line ends, a very long line, repeated column
names) is checked file by file (`check.check_each`), as is a group whose joined lines cannot be read.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import defaultdict
from dataclasses import dataclass, replace
from itertools import groupby
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.guard.accounting import Ledger, check_identity, uploads_with_repeats
from pipelines.guard.check import (REASONS, Pending, Upload, apply_contract, check_each, check_header,
                                   cleared_cells, finish, scan_frame, scan_ragged)
from pipelines.guard.decoding import TextSource, UnreadableFile, WrongEncoding, open_upload, text_source
from pipelines.guard.dialect import sniff_delimiter
from pipelines.guard.identifiers import normalise, normalise_frame
from pipelines.guard.limits import BLOCK_BYTES, MAX_CELL_CHARS, LimitExceeded
from pipelines.guard.parsing import parse_columns
from pipelines.guard.result import GuardResult
from pipelines.guard.table import MISSING_SPELLINGS, ROW, UnreadableTable, header_of, read_csv
from pipelines.guard.validation import contract_failures
from schemas.contract import KEYS, MODELS

SMALL_BYTES = 2**20  # a file up to this size may join the batch table
TABLE_BYTES = BLOCK_BYTES // 2  # the joined lines of one table stay one block of the reader


@dataclass(frozen=True)
class SmallCsv:
    """A small upload split into its header line and its data lines (UTF-8, each ending in a line break)."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]
    header_line: bytes
    body: bytes
    lines: int  # lines in body


def small_csv(upload: Upload) -> SmallCsv | None:
    """The upload split for the batch table, or None when it must be read file by file."""
    if not isinstance(upload.data, bytes) or len(upload.data) > SMALL_BYTES \
            or not upload.filename.lower().endswith(".csv"):
        return None
    try:
        text = _decoded(upload)
    except (UnreadableFile, LimitExceeded):
        return None
    if text is None:
        return None
    encoding, data = text
    end = data.find(b"\n") + 1
    header_line, body = data[:end], data[end:]
    line = header_line.decode()
    if not end or not line.strip() or line.lstrip("\ufeff").startswith("sep=") \
            or b"\x1f" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    if body and not body.endswith(b"\n"):
        body += b"\n"
    if len(body) > MAX_CELL_CHARS and max(map(len, body.split(b"\n"))) > MAX_CELL_CHARS:
        return None
    if b'"' in data:
        # Quoting is read file by file: one file's odd quoting must not change how the reader takes
        # its neighbours' lines (contract values never need quotes, so exports rarely have any).
        return None
    delimiter = sniff_delimiter(data.decode()[:64 * 1024])  # as table.read_csv samples it
    header = _header(line, delimiter)
    if header is None:
        return None
    return SmallCsv(encoding, delimiter, header, header_line, body, body.count(b"\n"))


@functools.lru_cache(maxsize=4096)  # a site sends the same header month after month
def _header(line: str, delimiter: str) -> tuple[str, ...] | None:
    """The normalised header as the per-file reader names it, or None for one this pass leaves to it."""
    try:
        header = header_of(next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), []))
    except (csv.Error, LimitExceeded):
        return None
    if len(set(header)) < len(header) or ROW in header or not header:
        return None  # the per-file reader names such columns its own way
    return tuple(header)


@functools.lru_cache(maxsize=4096)
def _no_rows(header: tuple[str, ...]) -> pl.DataFrame:
    """The quarantine of an upload that has none: its columns as text, the line and the reasons."""
    return pl.DataFrame(schema={c: pl.String for c in header} | {ROW: pl.Int64, REASONS: pl.String})


def _decoded(upload: Upload) -> tuple[str, bytes] | None:
    """(encoding, the file as UTF-8) when it is one block of the reader; as `check._file_checks`
    decides it: UTF-8 unless a BOM says otherwise, Windows-1252 when UTF-8 fails."""
    for windows_1252 in (False, True):
        source = text_source(open_upload(upload.data, upload.filename), windows_1252)
        try:
            blocks = list(source.blocks())
        except WrongEncoding as exc:
            if exc.retry and not windows_1252:
                continue
            return None
        return (source.encoding, blocks[0]) if len(blocks) == 1 else None
    return None


def check_small(uploads: list[Upload], smalls: list[SmallCsv],
                roster: set[str] | None) -> dict[int, GuardResult]:
    """Results of small uploads of one kind (all `;`-delimited or none, which decides decimal
    commas), by position; an upload missing from the answer is to be checked alone (its group's
    joined lines could not be read as one table)."""
    order = sorted(range(len(uploads)),
                   key=lambda i: (smalls[i].delimiter, len(smalls[i].header), smalls[i].header))
    results = {}
    for run in _tables([smalls[i] for i in order]):
        members = [order[k] for k in run]
        table = _BatchTable([uploads[i] for i in members], [smalls[i] for i in members], roster)
        results |= {members[k]: result for k, result in table.results().items()}
    return results


def _tables(smalls: list[SmallCsv]) -> list[range]:
    """Runs of uploads whose joined lines fit one block of the reader."""
    runs, start, size = [], 0, 0
    for i, small in enumerate(smalls):
        if i > start and size + len(small.body) > TABLE_BYTES:
            runs.append(range(start, i))
            start, size = i, 0
        size += len(small.body)
    return runs + [range(start, len(smalls))]


@dataclass
class _Read:
    """The rows of uploads with one header and delimiter."""

    members: list[int]
    header: list[str]
    frame: pl.DataFrame  # ROW: line in the joined lines of the read it came from, less `shift`
    ragged: list
    shift: int = 0


def _read(smalls: list[SmallCsv], members: list[int]) -> list[_Read] | None:
    """Uploads of one delimiter and width, any header: their lines joined after a header of as many
    stand-in names are read as one table, and split by header (names are only labels; how a line is
    split depends on the delimiter and the width alone). Every cell is read as text: reading plain
    integers as integers first gives the same outcome and only pays for large files."""
    first = smalls[members[0]]
    names = [f"c{i}" for i in range(len(first.header))]
    joined = first.delimiter.join(names).encode() + b"\n" + b"".join(smalls[i].body for i in members)
    try:
        table = read_csv(TextSource(io.BytesIO(joined), "utf-8", "utf-8"), lambda _: first.delimiter)
        chunks = list(table.chunks)
    except (LimitExceeded, UnreadableTable, UnreadableFile):
        return None
    if len(chunks) != 1 or table.header != names:  # no data lines at all, or more than one block
        return None
    chunk = chunks[0]
    frame = chunk.frame if chunk.ascii else normalise_frame(chunk.frame)
    rows, reads, line = frame[ROW].to_numpy(), [], 2
    for header, variant in groupby(members, key=lambda i: smalls[i].header):
        variant = list(variant)
        lines = sum(smalls[i].lines for i in variant)
        start, stop = np.searchsorted(rows, [line, line + lines])
        ragged = [(row, width, [normalise(c) for c in fields]) for row, width, fields in chunk.ragged
                  if line <= row < line + lines]
        reads.append(_Read(variant, list(header), frame.slice(start, stop - start)
                           .rename(dict(zip(names, header))), ragged, shift=line - 2))
        line += lines
    return reads


class _BatchTable:
    def __init__(self, uploads: list[Upload], smalls: list[SmallCsv], roster: set[str] | None):
        self.kind = uploads[0].kind
        self.schema = MODELS[self.kind].to_schema()
        self.roster = roster
        groups = [list(g) for _, g in groupby(range(len(uploads)),
                                               key=lambda i: (smalls[i].delimiter, len(smalls[i].header)))]
        self.reads = [r for g in groups for r in (_read(smalls, g) or [])]
        members = [i for r in self.reads for i in r.members]
        self.index = members  # position in the caller's list of each upload taken here
        self.uploads, self.smalls = [uploads[i] for i in members], [smalls[i] for i in members]
        # Line of each upload's first data line in the whole table (as if one header came first).
        counts = np.array([s.lines for s in self.smalls], dtype=np.int64)
        self.first_line = 2 + np.concatenate([[0], np.cumsum(counts)[:-1]])

    def _owner(self, lines: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.first_line, lines, side="right") - 1

    def _local(self, frame: pl.DataFrame) -> pl.DataFrame:
        """ROW as the line in the upload's own file (its header is line 1 there too)."""
        shift = (self.first_line - 2)[self._owner(frame[ROW].to_numpy())]
        return frame.with_columns(pl.col(ROW) - pl.Series(shift))

    def _joined(self) -> tuple[pl.DataFrame, list, list[list[str]]]:
        """Every read as one frame (columns by name), lines counted across the reads; each upload's
        header."""
        frames, ragged, headers = [], [], []
        for read in self.reads:
            base = int(self.first_line[len(headers)]) - 2 - read.shift  # lines of the reads before
            frames.append(read.frame.with_columns(pl.col(ROW) + base) if base else read.frame)
            ragged += [(row + base, width, fields) for row, width, fields in read.ragged]
            headers += [read.header] * len(read.members)
        frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
        return frame, ragged, headers

    def results(self) -> dict[int, GuardResult]:
        n = len(self.uploads)
        if not n:
            return {}
        frame, all_ragged, headers = self._joined()
        decimal_comma = self.smalls[0].delimiter == ";"  # the same for every upload here
        owner = self._owner(frame[ROW].to_numpy())
        kept = np.bincount(owner, minlength=n)
        starts = np.concatenate([[0], np.cumsum(kept)[:-1]])
        ragged: dict[int, list] = defaultdict(list)
        for row, width, fields in all_ragged:
            j = int(self._owner(np.array([row]))[0])
            ragged[j].append((row - int(self.first_line[j]) + 2, width, fields))

        # File-level checks that depend on the header alone are made once per header.
        templates = {}
        for read in self.reads:
            templates[id(read.header)] = template = GuardResult(kind=self.kind, site="")
            check_header(template, read.header, self.schema)
        results = []
        for upload, small, header in zip(self.uploads, self.smalls, headers):
            template = templates[id(header)]
            result = GuardResult(kind=self.kind, site=upload.site, encoding=small.encoding,
                                 delimiter=small.delimiter, file_problems=list(template.file_problems),
                                 identifier_findings=list(template.identifier_findings))
            if self.roster is not None and upload.site not in self.roster:
                result.reject("site_not_in_roster", "site_id",
                              f"site {upload.site} is not in the registry roster")
            results.append(result)
        parseable = np.array([not r.rejected for r in results])
        parsed = parse_columns(frame, self.schema, decimal_comma) if parseable.any() else None
        row_parseable = pl.Series(parseable[owner])
        cleared = {c: s & row_parseable for c, s in cleared_cells(frame, parsed, self.schema).items()}
        text_columns = {c for c, col in self.schema.columns.items() if str(col.dtype) == "String"}
        findings = self._findings(frame, cleared, text_columns, starts, kept, range(n))
        other_site = np.zeros(n, dtype=np.int64)
        if "site_id" in frame.columns:
            site, sites = pl.col("site_id"), pl.Series([u.site for u in self.uploads])[owner]
            other = frame.select((site.is_not_null() & (site != sites) & ~site.is_in(MISSING_SPELLINGS))
                                 .fill_null(False)).to_series().to_numpy()
            other_site = np.bincount(owner, weights=other, minlength=n).astype(np.int64)
        for j, result in enumerate(results):
            found = findings.get(j, set()) | scan_ragged(ragged.get(j))
            result.rows_read = int(kept[j]) + len(ragged.get(j, []))
            result.blank_lines_skipped = self.smalls[j].lines - result.rows_read
            result.identifier_findings += sorted(found - set(result.identifier_findings),
                                                 key=lambda f: (f.column, f.rule))
            if other_site[j]:
                result.reject("site_mismatch", "site_id", f"{other_site[j]} rows carry another site_id "
                                                          f"than the folder's site {self.uploads[j].site}")
            if result.rows_read == 0:
                result.reject("empty_file", None, "the file has a header but no rows")
            parseable[j] = not result.rejected
        if parseable.any():
            self._settle(results, parseable, frame, parsed, owner, starts, kept, ragged, headers)
        # An upload with ragged rows is left to be checked alone: the per-file reader may read a
        # short row as a row of its columns (scanned by column rules), where the joined table can
        # only scan it as loose fields (hypothesis found an age of 411 reported alone, not here).
        return {i: r for j, (i, r) in enumerate(zip(self.index, results)) if j not in ragged}

    def _findings(self, frame, cleared, text_columns, starts, kept, uploads: range) -> dict[int, set]:
        """Identifier findings of each upload in `uploads` (rows starts[j]..+kept[j] of the frame):
        a part is scanned whole, and split in halves only where it finds something."""
        first, last = uploads[0], uploads[-1]
        offset, length = int(starts[first]), int(starts[last] + kept[last] - starts[first])
        if length == 0:
            return {}
        part = frame.slice(offset, length) if len(uploads) < len(kept) else frame
        found = scan_frame(part, text_columns, {c: s.slice(offset, length) for c, s in cleared.items()})
        if not found:
            return {}
        if len(uploads) == 1:
            return {first: found}
        middle = len(uploads) // 2
        return (self._findings(frame, cleared, text_columns, starts, kept, uploads[:middle])
                | self._findings(frame, cleared, text_columns, starts, kept, uploads[middle:]))

    def _settle(self, results, parseable, frame, parsed, owner, starts, kept, ragged, headers) -> None:
        """Contract, duplicates and accounting of the uploads still in the running."""
        typed, parse_failures = parsed
        rows = pl.Series(parseable[owner])
        typed_in = typed if parseable.all() else typed.filter(rows)
        (contract,) = contract_failures([typed_in], MODELS[self.kind])
        parse_by, contract_by = self._by_upload(parse_failures), self._by_upload(contract)
        ledger = Ledger(list(self.schema.columns), KEYS[self.kind])
        hashes = ledger.key_hashes(typed_in).with_columns(pl.Series("upload", owner[parseable[owner]]))
        repeats = uploads_with_repeats(hashes, "upload")
        typed_local, frame_local = self._local(typed), self._local(frame)
        for j, result in enumerate(results):
            if not parseable[j]:
                continue
            accepted = typed_local.slice(int(starts[j]), int(kept[j]))
            if j in parse_by or j in contract_by or j in repeats or j in ragged:
                # Failing, ragged or repeated rows: finished by the per-file code.
                shift = int(self.first_line[j]) - 2
                ledger = Ledger(list(self.schema.columns), KEYS[self.kind])
                ledger.parts.append(hashes.filter(pl.col("upload") == j).select(pl.col(ROW) - shift, "k"))
                parsed_j = parse_by.get(j, [])
                pending = Pending(result, headers[j], ledger, waiting=accepted,
                                  waiting_raw=frame_local.slice(int(starts[j]), int(kept[j])),
                                  waiting_failed={f.row for f in parsed_j}, failures=parsed_j,
                                  ragged=ragged.get(j, []))
                apply_contract(pending, contract_by.get(j, []))
                finish(pending)
                continue
            result.accepted = accepted
            result.rows_accepted, result.rows_quarantined, result.rows_deduplicated = int(kept[j]), 0, 0
            result.quarantined = _no_rows(tuple(headers[j]))
            check_identity(result.rows_read, result.rows_accepted, 0, 0)

    def _by_upload(self, failures: list) -> dict[int, list]:
        """Failures by upload, each with its line in the upload's own file."""
        out: dict[int, list] = defaultdict(list)
        if failures:
            owners = self._owner(np.array([f.row for f in failures]))
            for j, failure in zip(owners.tolist(), failures):
                out[j].append(replace(failure, row=failure.row - int(self.first_line[j]) + 2))
        return out


def check_uploads(uploads: list[Upload], roster: set[str] | None = None,
                  columnar: bool = True) -> list[GuardResult]:
    """Check many uploads at once, each with the outcome it gets alone. Small CSV files of one kind
    are checked as one table per decimal-comma class (`columnar`); the others file by file."""
    results: list[GuardResult | None] = [None] * len(uploads)
    groups: dict[tuple, list[tuple[int, SmallCsv]]] = defaultdict(list)
    alone = []
    for i, upload in enumerate(uploads):
        small = small_csv(upload) if columnar else None
        if small is None:
            alone.append(i)
        else:
            groups[(upload.kind, small.delimiter == ";")].append((i, small))
    for members in groups.values():
        checked = check_small([uploads[i] for i, _ in members], [s for _, s in members], roster)
        for k, (i, _) in enumerate(members):
            if k in checked:
                results[i] = checked[k]
            else:
                alone.append(i)
    for i, result in zip(alone, check_each([uploads[i] for i in alone], roster)):
        results[i] = result
    return results


def check_upload(data: bytes | Path, filename: str, kind: str, site: str,
                 roster: set[str] | None = None) -> GuardResult:
    """Check one upload of `kind` for `site`; `roster` (site ids) is checked when given."""
    return check_uploads([Upload(data, filename, kind, site)], roster)[0]
