"""The embedded index (Qdrant Edge): its scores are the arithmetic retrieval was tuned on, it follows
every write at once, one process holds a folder, and what it was told is written survives a restart."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from knowledge.engine.base import Scope
from knowledge.engine.edge import IndexFolderInUse
from knowledge.index import DENSE, LATENT, SPARSE, IndexPoint, KnowledgeIndex, Query
from knowledge.lexical import document_vector, query_vector

ROOT = Path(__file__).resolve().parents[2]
WORDS = [
    "facial",
    "massage",
    "refund",
    "deposit",
    "typhoon",
    "parking",
    "serum",
    "gift",
    "card",
    "面部",
    "護理",
    "退款",
]


def points(n: int, rng: np.random.Generator, *, units: int = 1, prefix: str = "c") -> list[IndexPoint]:
    """n chunks of `units` points each: unit 0 carries the sparse vectors, as ingest writes them."""
    dense = rng.standard_normal((n * units, 8)).astype(np.float32)
    out = []
    for i in range(n):
        text = " ".join(random.choices(WORDS, k=12))
        latent = (sorted(random.sample(range(500), 20)), [random.random() for _ in range(20)])
        for u in range(units):
            out.append(
                IndexPoint(
                    chunk_id=f"{prefix}{i}",
                    unit=u,
                    source_id="s",
                    text=text,
                    dense=dense[i * units + u],
                    sparse=document_vector(text) if u == 0 else None,
                    latent=latent if u == 0 else None,
                )
            )
    return out


def brute_force(stored: list[IndexPoint], query: Query) -> dict[str, list[tuple[str, int, float]]]:
    """What the numpy search of qdrant-client's local mode computed (knowledge/local_search.py until
    Edge): cosine over every unit; dot products over the chunks; BM25 IDF over the tenant's chunks that
    have the vector, ln((N - df + 0.5) / (df + 0.5) + 1)."""
    out: dict[str, list[tuple[str, int, float]]] = {}
    assert query.dense is not None and query.latent is not None and query.lexical is not None
    q = np.asarray(query.dense, dtype=np.float32)
    q /= np.linalg.norm(q)
    scored = []
    for p in stored:
        v = np.asarray(p.dense, dtype=np.float32)
        scored.append((p.chunk_id, p.unit, float(v @ q / np.linalg.norm(v))))
    out[DENSE] = sorted(scored, key=lambda s: -s[2])[: query.dense_limit]
    for name, vec, limit, idf in (
        (LATENT, query.latent, query.latent_limit, False),
        (SPARSE, query.lexical, query.lexical_limit, True),
    ):
        docs: list[tuple[IndexPoint, dict[int, float]]] = []
        for p in stored:
            sparse = p.latent if name == LATENT else p.sparse
            if p.unit == 0 and sparse is not None:
                docs.append((p, dict(zip(*sparse, strict=True))))
        found = []
        for p, weights in docs:
            score, hit = 0.0, False
            for term, qw in zip(*vec, strict=True):
                if term in weights:
                    df = sum(1 for _, w in docs if term in w)
                    factor = math.log((len(docs) - df + 0.5) / (df + 0.5) + 1) if idf else 1.0
                    score += qw * weights[term] * factor
                    hit = True
            if hit:
                found.append((p.chunk_id, p.unit, score))
        out[name] = sorted(found, key=lambda s: -s[2])[:limit]
    return out


def test_edge_scores_are_the_brute_force_scores(tmp_path: Path) -> None:
    """Exact search, per-tenant IDF: another tenant's chunks (sharing the shard, full of the same
    words) change no score."""
    random.seed(3)
    rng = np.random.default_rng(3)
    index = KnowledgeIndex.embedded(tmp_path / "edge", dim=8)
    mine = points(150, rng, units=3)
    index.upsert("t", mine)
    index.upsert("other", points(200, rng, units=2))
    query = Query(
        dense=rng.standard_normal(8).tolist(),
        latent=(sorted(random.sample(range(500), 30)), [1.0] * 30),
        lexical=query_vector("refund deposit 面部護理"),
        dense_limit=20,
        latent_limit=10,
        lexical_limit=10,
    )
    ours = index.search("t", query)
    expected = brute_force(mine, query)
    for name in (DENSE, LATENT, SPARSE):
        got = [(h.chunk_id, h.unit, h.score) for h in ours[name]]
        assert len(got) == len(expected[name]) > 0, name
        assert np.allclose([g[2] for g in got], [e[2] for e in expected[name]], atol=1e-5), name
        # The same hits; ties may come in another order, and a tie at the cut may keep another member.
        cut = expected[name][-1][2] + 1e-5
        assert {(c, u) for c, u, v in got if v > cut} == {(c, u) for c, u, v in expected[name] if v > cut}
    index.close()


def test_edge_search_sees_every_write(tmp_path: Path) -> None:
    random.seed(4)
    index = KnowledgeIndex.embedded(tmp_path / "edge", dim=8)
    batch = points(5, np.random.default_rng(4))
    probe = Query(dense=list(map(float, batch[4].dense)), dense_limit=10)
    assert index.search("t", probe)[DENSE] == [] and index.count("t") == 0  # no shard yet: nothing
    index.upsert("t", batch[:3])
    assert {h.chunk_id for h in index.search("t", probe)[DENSE]} == {"c0", "c1", "c2"}
    index.upsert("t", batch[3:])
    assert index.search("t", probe)[DENSE][0].chunk_id == "c4"
    index.delete_chunks("t", ["c4"])
    assert "c4" not in {h.chunk_id for h in index.search("t", probe)[DENSE]}
    only = index.search("t", Query(dense=probe.dense, chunk_ids=["c1"]))[DENSE]
    assert [h.chunk_id for h in only] == ["c1"]
    index.drop_tenant("t")
    assert index.search("t", probe)[DENSE] == []
    index.close()


def _open_elsewhere(path: Path) -> subprocess.CompletedProcess[str]:
    code = f"from pathlib import Path; from knowledge.index import KnowledgeIndex as K; K.embedded(Path({str(path)!r}), 8)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_second_process_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "edge"
    index = KnowledgeIndex.embedded(path, dim=8)
    with pytest.raises(IndexFolderInUse, match="PARLEY_QDRANT_URL"):
        KnowledgeIndex.embedded(path, dim=8)  # before the shard exists: the folder's lock
    index.upsert("t", points(3, np.random.default_rng(5)))
    refused = _open_elsewhere(path)
    assert refused.returncode != 0
    assert "IndexFolderInUse" in refused.stderr and "PARLEY_QDRANT_URL" in refused.stderr
    index.close()
    assert _open_elsewhere(path).returncode == 0  # closing releases it


def test_reopened_after_close_every_chunk_is_there_once(tmp_path: Path) -> None:
    random.seed(6)
    path = tmp_path / "edge"
    index = KnowledgeIndex.embedded(path, dim=8)
    batch = points(300, np.random.default_rng(6), units=3)
    index.upsert("t", batch)
    index.upsert("t", batch[:90])  # the same points again (a re-ingest): replaced, not added
    index.close()
    reopened = KnowledgeIndex.embedded(path, dim=8)
    assert reopened.count("t") == 300 and reopened.count("t", chunks_only=False) == 900
    ids = Counter(p["chunk_id"] for p in reopened.engine.scroll(Scope("t", {"unit": 0}), ["chunk_id"]))
    assert set(ids) == {f"c{i}" for i in range(300)} and set(ids.values()) == {1}
    reopened.close()


def test_killed_without_closing_loses_no_written_chunk(tmp_path: Path) -> None:
    """kill -9 in the middle of writing: every write that returned is there after reopening, once
    (the write-ahead log), and the folder opens again (the kernel dropped the dead process's lock)."""
    path = tmp_path / "edge"
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from knowledge.engine.base import StoredPoint
        from knowledge.index import KnowledgeIndex
        index = KnowledgeIndex.embedded(Path({str(path)!r}), 8)
        for i in range(400):  # one point a write, none flushed
            point = StoredPoint(
                index.point_id("t", f"c{{i}}", 0),
                {{"dense": [1.0, 0, 0, 0, 0, 0, 0, float(i)]}},
                {{"tenant_id": "t", "chunk_id": f"c{{i}}", "unit": 0, "source_id": "s", "text": "x"}},
            )
            index.engine.upsert([point])
            print(i, flush=True)
            if i == 300:
                os.kill(os.getpid(), 9)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == -9, run.stderr
    written = int(run.stdout.split()[-1]) + 1
    reopened = KnowledgeIndex.embedded(path, dim=8)
    assert reopened.count("t") == written == 301
    ids = Counter(p["chunk_id"] for p in reopened.engine.scroll(Scope("t"), ["chunk_id"]))
    assert len(ids) == 301 and set(ids.values()) == {1}
    reopened.close()
