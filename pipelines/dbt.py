"""The dbt project as the pipeline sees it: what it is built from, when a build must start over, how
it is named in Dagster (how it is run: dbt_invocation.py). dbt runs once per pipeline run, never once
per file."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path

from dagster import AssetCheckKey, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtProject

from pipelines.dbt_invocation import DBT_DIR
from pipelines.home import RegistryHome

# The project is parsed (for Dagster's asset graph) into the registry home of the process that loads
# the definitions, never into the repository; each build keeps its own target/ beside it.
PARSE_DIR = RegistryHome.from_env().dbt_dir / "parse"
registry_dbt = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=PARSE_DIR)
LAKE_SOURCE = "lake"

# Air-gapped: no usage statistics (the parse below runs in this process).
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def project_files() -> list[Path]:
    """The project's models, macros and generic tests: what the warehouse and the manifest come from."""
    return [p for folder in ("models", "macros", "tests") for p in DBT_DIR.glob(f"{folder}/**/*")]


def project_fingerprint() -> str:
    """sha256 over the dbt project's SQL, Python, YAML and macros: what the warehouse is built from."""
    digest = hashlib.sha256()
    files = [DBT_DIR / "dbt_project.yml", *project_files()]
    for path in sorted(p for p in files if p.is_file() and p.suffix in {".sql", ".py", ".yml", ".md"}):
        digest.update(path.relative_to(DBT_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def built_from_path(home: RegistryHome) -> Path:
    return home.dbt_dir / "warehouse-built-from"


def needs_full_refresh(home: RegistryHome) -> bool:
    """An incremental build keeps rows computed by earlier builds, so it is only right on a
    warehouse built by this very project: without a warehouse, after a change to the models or
    macros, or after a build that did not finish (start_build), everything is rebuilt from the lake."""
    recorded = built_from_path(home)
    return (not home.warehouse_db.exists() or not recorded.exists()
            or recorded.read_text().strip() != project_fingerprint())


def start_build(home: RegistryHome) -> str | None:
    """Before dbt touches the warehouse: forget what it was built from, so that a build which does
    not finish (a failed test, a killed process) leaves no record and the next build rebuilds
    everything. Returns the id of the last build if it finished and built every model: the build
    whose record of uploads this one's int_episodes_changed compares the lake with."""
    previous = _recorded_build(home)
    built_from_path(home).unlink(missing_ok=True)
    last_build_path(home).unlink(missing_ok=True)
    return previous.get("build_id") if previous.get("complete") else None


def record_build(home: RegistryHome, since: str | None = None, complete: bool = True) -> None:
    """After a build that finished: what it was built from, and a new id for it with `since`, the
    build it changed the warehouse from episode by episode (None: it rebuilt everything, or was a
    subset staff picked, `complete` False). Publish reads them back (`last_build`)."""
    built_from_path(home).write_text(project_fingerprint() + "\n")
    last_build_path(home).write_text(json.dumps(
        {"build_id": uuid.uuid4().hex, "since": since, "complete": complete}) + "\n")


def last_build_path(home: RegistryHome) -> Path:
    return home.dbt_dir / "last-build.json"


def last_build(home: RegistryHome) -> tuple[str | None, str | None]:
    """(the last finished build, the build it changed the warehouse from), as record_build kept them."""
    recorded = _recorded_build(home)
    return recorded.get("build_id"), recorded.get("since")


def _recorded_build(home: RegistryHome) -> dict:
    path = last_build_path(home)
    return json.loads(path.read_text()) if path.exists() else {}


def episode_models(manifest: dict) -> frozenset[str]:
    """The models rebuilt episode by episode (incremental_strategy='replace_episodes')."""
    return frozenset(node["name"] for node in manifest["nodes"].values()
                     if node["resource_type"] == "model"
                     and node["config"].get("incremental_strategy") == "replace_episodes")


def parse_args() -> list[str]:
    return ["parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--quiet",
            "--target-path", str(PARSE_DIR), "--log-path", str(PARSE_DIR)]


def manifest_is_stale() -> bool:
    manifest = registry_dbt.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_DIR / "dbt_project.yml", *project_files()]
    return any(p.stat().st_mtime > built for p in sources if p.is_file())


def ensure_manifest() -> Path:
    """Parse the project when its manifest is missing or older than the SQL (about 5 s). A file
    lock keeps two processes (test workers, webserver and CLI) from parsing into one target/."""
    lock_path = PARSE_DIR / ".parse.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale():
            from dbt.cli.main import dbtRunner

            # The profile and the lake sources read REGISTRY_HOME; parse with the same default
            # home the pipeline uses when it is unset.
            os.environ.setdefault("REGISTRY_HOME", str(PARSE_DIR.parents[1]))

            result = dbtRunner().invoke(parse_args())
            if not result.success:
                raise RuntimeError(f"dbt parse failed: {result.exception}")
    return registry_dbt.manifest_path


class RegistryTranslator(DagsterDbtTranslator):
    """Asset keys by layer (staging/..., marts/...); the lake source maps to the ingest assets."""

    def get_asset_key(self, dbt_resource_props) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "models"
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props) -> str:
        return "warehouse"


def node_keys(manifest: dict, translator: DagsterDbtTranslator) -> dict[str, AssetKey | AssetCheckKey]:
    """dbt unique_id -> what Dagster calls it: each model an asset, each data test a check named
    after the test on the asset of the model it is attached to (as `@dbt_assets` names them)."""
    keys: dict[str, AssetKey | AssetCheckKey] = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "model":
            keys[unique_id] = translator.get_asset_key(node)
        elif node["resource_type"] == "test" and node.get("attached_node") in manifest["nodes"]:
            model = manifest["nodes"][node["attached_node"]]
            keys[unique_id] = AssetCheckKey(translator.get_asset_key(model), node["name"])
    return keys
