"""Shared fixtures: a registry home of its own for every test module that runs the pipeline."""

from __future__ import annotations

import os

import pytest

TEST_KEY = "test-registry-key-not-secret"


@pytest.fixture(scope="module")
def registry_env(tmp_path_factory):
    """An empty registry home with a pseudonym key; the environment is restored afterwards."""
    home = tmp_path_factory.mktemp("registry_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGISTRY_HOME", str(home))
        mp.setenv("REGISTRY_PSEUDONYM_KEY", TEST_KEY)
        mp.setenv("DAGSTER_HOME", str(home / ".dagster"))
        yield home
    for var in ("REGISTRY_HOME", "DAGSTER_HOME"):
        os.environ.pop(var, None)
