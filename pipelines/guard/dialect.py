"""Find the delimiter of a clinic's CSV export (quoting is always the standard double quote)."""

from __future__ import annotations

import csv

DELIMITERS = ",;\t|"


def sniff_delimiter(sample: str) -> str:
    """The csv module's sniffer, restricted to the contract's delimiters.

    The sniffer can be fooled by short files; the header line is the tie-breaker because the
    contract's column names never contain a delimiter, so the right delimiter splits it most.
    With one delimiter alone in the header (every contract header) no sniffed answer can beat it,
    so the sniffer, most of a small file's reading, is skipped.
    """
    header = sample.lstrip("\ufeff").splitlines()[0] if sample.strip() else ""
    present = [d for d in DELIMITERS if d in header]
    if len(present) == 1:
        return present[0]
    by_header = max(DELIMITERS, key=header.count)
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
        if header.count(sniffed) >= header.count(by_header):
            return sniffed
    except csv.Error:
        pass
    return by_header
