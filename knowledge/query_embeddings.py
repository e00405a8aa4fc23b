"""Search queries' embeddings, remembered per text.

Customers ask the same few questions over and over ("how much is...", "opening hours?", in English and
Chinese), and embedding a query (a dense and a latent pass through the model) was over half of an
agent turn's CPU with the local model (bench/webhook.py's backlog, profiled). An embedding depends only
on the text and the model, never on a tenant's knowledge, so one bounded cache serves every tenant and
never needs invalidating. Passages are not cached: each is embedded once, when it is indexed.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from knowledge.embeddings import Embedder, Sparse

# ~4 KB per entry (384 floats, 256 latent terms as arrays): 4,096 entries is ~16 MB at most.
MAX_ENTRIES = 4096
V = TypeVar("V")


class QueryEmbeddings:
    def __init__(self, embedder: Embedder, max_entries: int = MAX_ENTRIES) -> None:
        self._embedder = embedder
        self._max = max_entries
        self._dense: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._latent: OrderedDict[str, tuple[NDArray[np.int32], NDArray[np.float32]] | None] = OrderedDict()
        self._lock = threading.Lock()  # retrieval runs on worker threads and request threads at once

    def dense(self, text: str) -> list[float]:
        with self._lock:
            found = self._hit(self._dense, text)
        if found is None:
            found = np.asarray(self._embedder.query(text), dtype=np.float32)
            with self._lock:
                self._keep(self._dense, text, found)
        return found.tolist()

    def latent(self, text: str) -> Sparse | None:
        with self._lock:
            known = text in self._latent
            found = self._hit(self._latent, text)
        if not known:
            computed = self._embedder.latent([text])  # None: this embedder has no latent head
            found = (
                (np.asarray(computed[0][0], np.int32), np.asarray(computed[0][1], np.float32))
                if computed
                else None
            )
            with self._lock:
                self._keep(self._latent, text, found)
        return (found[0].tolist(), found[1].tolist()) if found is not None else None

    @staticmethod
    def _hit(entries: OrderedDict[str, V], text: str) -> V | None:
        if text not in entries:
            return None
        entries.move_to_end(text)  # least recently used goes first
        return entries[text]

    def _keep(self, entries: OrderedDict[str, V], text: str, value: V) -> None:
        entries[text] = value
        entries.move_to_end(text)
        while len(entries) > self._max:
            entries.popitem(last=False)


_SHARED: weakref.WeakKeyDictionary[object, QueryEmbeddings] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def shared(embedder: Embedder) -> QueryEmbeddings:
    """One cache per embedder: every service built on the same model shares it (an embedding depends on
    the text and the model only). The entry goes when the embedder does."""
    with _SHARED_LOCK:
        found = _SHARED.get(embedder)
        if found is None:
            found = _SHARED[embedder] = QueryEmbeddings(embedder)
        return found
