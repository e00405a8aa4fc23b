"""What KnowledgeIndex asks of a vector engine, in plain types.

Both engines hold every tenant's points in one place (an Edge shard, or a server's shared collection)
with a `tenant_id` keyword index marked `is_tenant`. Every read and delete names a `Scope`, which
always carries a tenant: an engine cannot be asked for points without the tenant filter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

DENSE = "dense"
SPARSE = "lexical"
LATENT = "latent"
Sparse = tuple[list[int], list[float]]
Vector = list[float] | Sparse
Match = str | int | tuple[str, ...]
"""A payload value to match; a tuple matches any of its values."""

# Payload fields with an index besides `tenant_id` (the keyword fields filters and deletes use).
KEYWORD_FIELDS = ("source_id", "chunk_id", "lang")
INTEGER_FIELDS = ("unit",)


@dataclass(frozen=True)
class Scope:
    """The points of one tenant, optionally narrowed by payload values (all must hold)."""

    tenant_id: str
    where: Mapping[str, Match] = field(default_factory=dict)

    def conditions(self) -> list[tuple[str, Match]]:
        return [("tenant_id", self.tenant_id), *self.where.items()]


def qdrant_filter(scope: Scope, api: Any) -> Any:
    """The scope as a filter built from `api`: `qdrant_client.models` or `qdrant_edge`, which name their
    filter and vector classes alike (each engine passes its own module)."""
    must = []
    for key, value in scope.conditions():
        match = api.MatchAny(any=list(value)) if isinstance(value, tuple) else api.MatchValue(value=value)
        must.append(api.FieldCondition(key=key, match=match))
    return api.Filter(must=must)


def qdrant_vector(vector: Vector, api: Any) -> Any:
    """A dense vector as it is; a sparse one as `api`'s SparseVector."""
    if isinstance(vector, tuple):
        return api.SparseVector(indices=list(vector[0]), values=list(vector[1]))
    return vector


@dataclass
class StoredPoint:
    id: str
    vectors: dict[str, Vector]
    payload: dict[str, Any]
    """Always carries `tenant_id` (KnowledgeIndex puts it there)."""


@dataclass(frozen=True)
class Search:
    using: str
    vector: Vector
    limit: int
    scope: Scope
    idf: Scope | None = None
    """For a vector with the IDF modifier: the points its statistics are counted over."""


Found = tuple[float, dict[str, Any]]
"""(score, payload)"""


class VectorEngine(Protocol):
    dim: int

    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    def delete(self, scope: Scope) -> None: ...

    def count(self, scope: Scope) -> int: ...

    def scroll(self, scope: Scope, fields: Sequence[str]) -> Iterator[dict[str, Any]]:
        """The payload fields of every point in scope, in no particular order."""
        ...

    def search(self, searches: Sequence[Search]) -> list[list[Found]]:
        """Each search's hits, best first, in one round trip."""
        ...

    def flush(self) -> None:
        """Make the writes so far durable."""
        ...

    def close(self) -> None: ...
