"""Keyed pseudonyms: client_key and therapist_key = HMAC-SHA256(registry key, "site_id|id").

Raw ids are replaced before anything reaches the lake, so the lake, the warehouse and the published
database never hold them; only the quarantine (which the clinic must be able to trace) keeps them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

KEY_ENV = "REGISTRY_PSEUDONYM_KEY"
KEY_FILE = "pseudonym.key"
PSEUDONYM_COLUMNS = {"client_id": "client_key", "therapist_id": "therapist_key"}


class MissingKey(RuntimeError):
    pass


def load_key(secrets_dir: Path) -> bytes:
    value = os.environ.get(KEY_ENV)
    if not value and (secrets_dir / KEY_FILE).exists():
        value = (secrets_dir / KEY_FILE).read_text().strip()
    if not value:
        raise MissingKey(f"no pseudonym key: set {KEY_ENV} or put one in {secrets_dir / KEY_FILE} "
                         "(`registry demo` generates one for a demo home)")
    return value.encode()


def ensure_key_file(secrets_dir: Path) -> Path:
    """Create a random key readable by its owner only, unless one exists (demo and new homes)."""
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(secrets_dir, 0o700)
    path = secrets_dir / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path


def pseudonym(key: bytes, site_id: str, raw_id: str) -> str:
    return hmac.new(key, f"{site_id}|{raw_id}".encode(), hashlib.sha256).hexdigest()


def pseudonymise(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """Replace client_id / therapist_id by their keyed hashes, in place of the raw column."""
    for raw, keyed in PSEUDONYM_COLUMNS.items():
        if raw not in frame.columns:
            continue
        pairs = frame.select("site_id", raw).unique()
        lookup = pairs.with_columns(
            pl.struct("site_id", raw).map_elements(
                lambda r, raw=raw: pseudonym(key, r["site_id"], r[raw]),
                return_dtype=pl.Utf8).alias(keyed))
        position = frame.columns.index(raw)
        frame = frame.join(lookup, on=["site_id", raw], how="left", maintain_order="left").drop(raw)
        columns = [c for c in frame.columns if c != keyed]
        frame = frame.select(columns[:position] + [keyed] + columns[position:])
    return frame
