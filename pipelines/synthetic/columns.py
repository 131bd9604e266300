"""Column lists and value types of each file kind, read from the contract (schemas/contract.py)."""

from __future__ import annotations

from functools import cache

from schemas.contract import MODELS, EpisodeKey, SymptomScores

FILE_KINDS = ("intake", "alliance", "followup")

_TYPE_NAMES = {"Int64": "int", "Float64": "float", "Boolean": "bool", "String": "str"}


@cache
def natural_columns(kind: str) -> tuple[str, ...]:
    """All contract columns of a kind in the order a clinic export would have them: the episode key,
    then the kind's own columns, then the questionnaire items."""
    columns = list(MODELS[kind].to_schema().columns)
    key = [c for c in EpisodeKey.to_schema().columns if c in columns]
    scores = [c for c in SymptomScores.to_schema().columns if c in columns]
    own = [c for c in columns if c not in key and c not in scores]
    return tuple(key + own + scores)


@cache
def optional_columns(kind: str) -> frozenset[str]:
    schema = MODELS[kind].to_schema()
    return frozenset(c for c, col in schema.columns.items() if (col.metadata or {}).get("optional"))


@cache
def column_types(kind: str) -> dict[str, str]:
    """Column -> one of int, float, bool, str."""
    return {c: _TYPE_NAMES[str(col.dtype)] for c, col in MODELS[kind].to_schema().columns.items()}


def file_columns(kind: str, sent_optional: frozenset[str]) -> list[str]:
    """The columns a site's file of this kind carries: every required one, its chosen optional ones."""
    optional = optional_columns(kind)
    return [c for c in natural_columns(kind) if c not in optional or c in sent_optional]
