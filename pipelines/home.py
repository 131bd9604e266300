"""The registry home: the one folder that holds all the registry's state (SPEC section 2)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "./registry_home"


@dataclass(frozen=True)
class RegistryHome:
    root: Path

    @classmethod
    def from_env(cls) -> RegistryHome:
        return cls(Path(os.environ.get("REGISTRY_HOME", DEFAULT_HOME)).resolve())

    # clinics' side
    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def roster(self) -> Path:
        return self.root / "sites.csv"

    # the lake
    @property
    def lake(self) -> Path:
        return self.root / "lake"

    def validated(self, kind: str, month: str) -> Path:
        """One compacted file per kind and month, every site's rows inside (site_id is a column):
        a national month is a few large files rather than 2,000 small ones per kind."""
        return self.lake / "validated" / kind / f"month={month}" / "part-0.parquet"

    def quarantine(self, kind: str, site: str, month: str, upload: str) -> Path:
        return self.lake / "quarantine" / kind / f"site={site}" / f"month={month}" / f"{upload}.parquet"

    def rejected(self, kind: str, site: str, month: str, upload: str, filename: str) -> Path:
        return self.lake / "rejected" / kind / f"site={site}" / f"month={month}" / f"{upload}-{filename}"

    def archive(self, kind: str, site: str, month: str, upload: str, filename: str) -> Path:
        return self.root / "archive" / kind / f"site={site}" / f"month={month}" / f"{upload}-{filename}"

    def report(self, site: str, month: str, kind: str, upload: str, suffix: str) -> Path:
        return self.root / "reports" / site / month / f"{kind}-{upload}.{suffix}"

    # state and outputs
    @property
    def manifest_db(self) -> Path:
        return self.root / "manifest.duckdb"

    @property
    def warehouse_db(self) -> Path:
        return self.root / "warehouse" / "registry.duckdb"

    @property
    def published_db(self) -> Path:
        return self.root / "published" / "registry.duckdb"

    @property
    def dashboard(self) -> Path:
        return self.root / "dashboard"

    @property
    def secrets(self) -> Path:
        return self.root / ".secrets"

    @property
    def dbt_dir(self) -> Path:
        """dbt's target/ and logs/ of this home's builds."""
        return self.root / "dbt"

    @property
    def dagster_home(self) -> Path:
        return self.root / ".dagster"

    def read_roster(self) -> set[str]:
        """Site ids of the roster; an absent roster is an empty registry, not an error."""
        return read_roster(self.roster) if self.roster.exists() else set()


def read_roster(path: Path) -> set[str]:
    """Site ids of a sites.csv (site_id,site_name,region,active_from)."""
    import polars as pl

    return set(pl.read_csv(path, infer_schema=False)["site_id"].str.strip_chars())
