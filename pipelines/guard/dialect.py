"""Find the delimiter and quoting of a clinic's CSV export."""

from __future__ import annotations

import csv

DELIMITERS = ",;\t|"
_SAMPLE_CHARS = 64 * 1024


def sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The csv module's sniffer, restricted to the contract's delimiters.

    The sniffer can be fooled by short files; the header line is the tie-breaker because the
    contract's column names never contain a delimiter, so the right delimiter splits it most.
    """
    sample = text[:_SAMPLE_CHARS]
    header = sample.lstrip("\ufeff").splitlines()[0] if sample.strip() else ""
    by_header = max(DELIMITERS, key=header.count)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        if header.count(dialect.delimiter) >= header.count(by_header):
            dialect.doublequote = True
            dialect.skipinitialspace = False
            return dialect
    except csv.Error:
        pass
    return _simple_dialect(by_header)


def _simple_dialect(delimiter: str) -> csv.Dialect:
    class Detected(csv.excel):
        pass

    Detected.delimiter = delimiter
    return Detected()
