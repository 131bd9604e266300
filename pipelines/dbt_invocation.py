"""One dbt command, run by dbt's own programmatic API (`dbtRunner`) in a child process that reports each
node as it finishes.

Why not dagster-dbt's `DbtCliResource`: before every build it runs `dbt --version` in a process of its
own and sets up a dbt adapter in the pipeline's process (about 3 s of a 28 s incremental run at
regional scale, fixed whatever arrived), then parses dbt's JSON log line by line. Why a child process
and not dbt in the pipeline's process: dbt-duckdb keeps the warehouse open until its process exits (the
publish step opens it next, with other settings), and dbt's memory (DuckDB's, up to its 4 GB cap) is
returned to the machine when the child ends.

The child reads its command as one JSON list on stdin (so it can be started, load dbt and parse the
project before the command is known) and writes one JSON object per line on stdout: {"log": text}
for what dbt would print, {"node": {...}} for each finished model or test, and last
{"done": bool, "error": text|null}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.home import RegistryHome

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# dbt's console output is off (the child speaks JSON on stdout, and what dbt would print is the run's
# build log). Its own log file too, unless asked for with dbt's variable (DBT_LOG_LEVEL_FILE=debug
# writes every statement to $REGISTRY_HOME/dbt/logs/dbt.log): writing it cost 0.4 s of a 19 s run.
CHILD_FLAGS = ["--log-level", "none", "--log-level-file", os.environ.get("DBT_LOG_LEVEL_FILE", "none"),
               "--no-use-colors"]
SHOWN_LEVELS = {"info", "warn", "error"}


def project_args(home: RegistryHome) -> list[str]:
    """Where dbt finds the project and writes its target and log: under the registry home, never
    into the repository."""
    return ["--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(build_target(home)), "--log-path", str(home.dbt_dir / "logs")]


def build_args(home: RegistryHome, full_refresh: bool = False, select: list[str] | None = None) -> list[str]:
    """The one dbt command a pipeline run issues: models and their data tests, no unit tests (the
    test suite runs those), or only the `select`ed models and their tests when staff materialise a
    few. The episode-scoped models are incremental (they recompute the episodes whose uploads
    changed); `full_refresh` rebuilds them from the whole lake."""
    args = ["build", "--exclude-resource-type", "unit_test", *project_args(home),
            *(["--select", *select] if select else [])]
    return [*args, "--full-refresh"] if full_refresh else args


def build_env(home: RegistryHome) -> dict[str, str]:
    """dbt's environment: the profile and the lake sources read REGISTRY_HOME. The project's one
    numerical model (mart_alliance_vs_dose: the SVD of a 29,000 x 210 design at regional scale) took
    14 to 22 s with OpenBLAS's default thread per core on a busy 2-core machine, where threads spin
    against each other, and 2 s with one."""
    return {**os.environ, "REGISTRY_HOME": str(home.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}


def build_target(home: RegistryHome) -> Path:
    """One target/ per home, kept between builds: dbt's partial parsing then skips the re-parse."""
    return home.dbt_dir / "target"


@dataclass(frozen=True)
class NodeResult:
    """What dbt reported for one model or test when it finished."""

    unique_id: str
    status: str        # models: success, error, skipped; tests: pass, warn, fail, error, skipped
    message: str
    seconds: float
    failures: int          # tests: failing rows (0 for models)


@dataclass(frozen=True)
class Finished:
    success: bool
    error: str | None


@dataclass(frozen=True)
class LogLine:
    text: str


# What the project's Python model (mart_alliance_vs_dose) imports: loaded beside the build once the
# project is parsed, so that neither the start of the build nor the model waits for it.
PRELOAD = ("statsmodels.api",)


class DbtChild:
    """A child process for one dbt command on one project: as soon as it starts it loads dbt and
    parses the project (`project_args`: where the project, target and log are), then waits for the
    command (`run`); `stop` ends it if it was never given one. Started before or when a run starts,
    it is ready by the time the run reaches dbt."""

    def __init__(self, env: Mapping[str, str], project_args: Sequence[str]):
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, *project_args, *CHILD_FLAGS], env=_child_env(env),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._used = False

    def run(self, args: Sequence[str]) -> Iterator[NodeResult | LogLine | Finished]:
        """Run `dbt <args>`; yields as dbt goes and ends with one `Finished`."""
        if self._used:
            raise RuntimeError("a dbt child runs one command")
        self._used = True
        process = self._process
        process.stdin.write(json.dumps([*args, *CHILD_FLAGS]) + "\n")
        process.stdin.close()
        finished = None
        with process:
            for line in process.stdout:
                item = _parse(line)
                finished = item if isinstance(item, Finished) else finished
                yield item
        if finished is None:  # the child died before reporting (killed, out of memory)
            yield Finished(False, f"dbt exited with code {process.returncode} before it finished")

    def stop(self) -> None:
        """End a child that was never given a command (it has only loaded and parsed)."""
        if not self._used:
            self._used = True
            self._process.kill()
            self._process.wait()
            self._process.stdin.close()
            self._process.stdout.close()


def _child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The child ends without tearing its interpreter down (`_release_warehouse_and_exit`), so
    multiprocessing's resource tracker removes the semaphores dbt made, as it should, and warns on
    the terminal that it did: that one warning is silenced, in the child only."""
    quiet = "ignore:resource_tracker:UserWarning"
    return {**env, "PYTHONWARNINGS": ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))}


def _parse(line: str) -> NodeResult | LogLine | Finished:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:  # anything else a model printed
        return LogLine(line.rstrip("\n"))
    if "node" in message:
        return NodeResult(**message["node"])
    if "done" in message:
        return Finished(message["done"], message["error"])
    return LogLine(message.get("log", ""))


def _main(project_args: list[str]) -> int:
    import importlib

    from dbt.cli.main import dbtRunner

    # Parsed before the command arrives; handed to the command's runner, which then does not parse
    # again. If the project does not parse, the command parses it and reports why.
    parsed = dbtRunner().invoke(["parse", *project_args])
    manifest = parsed.result if parsed.success else None
    for module in PRELOAD:
        threading.Thread(target=importlib.import_module, args=(module,), daemon=True).start()
    command = sys.stdin.readline()
    if not command:  # stopped before it was given a command
        return 0

    out, lock = sys.stdout, threading.Lock()

    def send(message: dict) -> None:
        with lock:  # dbt calls back from its worker threads
            out.write(json.dumps(message) + "\n")
            out.flush()

    def report(event) -> None:
        if event.info.name == "NodeFinished":
            result = event.data.run_result
            send({"node": {"unique_id": event.data.node_info.unique_id, "status": result.status,
                           "message": result.message, "seconds": round(result.execution_time, 3),
                           "failures": result.num_failures}})
        elif event.info.level in SHOWN_LEVELS and event.info.msg:
            send({"log": event.info.msg})

    outcome = dbtRunner(manifest=manifest, callbacks=[report]).invoke(json.loads(command))
    send({"done": bool(outcome.success),
          "error": None if outcome.exception is None else str(outcome.exception)})
    return 0 if outcome.success else 1


def _release_warehouse_and_exit(code: int) -> None:
    """Close the warehouse as dbt-duckdb does when its process exits (its connection manager drops
    the DuckDB environment, which checkpoints and closes the file), then end the process without
    tearing the interpreter down: freeing dbt's objects one by one took 0.7 s, and the run's next
    step (publish) waits for the warehouse to be released."""
    import gc

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()
    gc.collect()
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    _release_warehouse_and_exit(_main(sys.argv[1:]))
