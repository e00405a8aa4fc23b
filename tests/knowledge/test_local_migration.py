"""An install whose index is still in qdrant-client's local mode (data/qdrant) starts on Qdrant Edge with
every source searchable, nothing embedded again, and the old folder kept aside."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app import create_app
from config import Settings
from core.services import CoreServices
from knowledge.embeddings import LocalE5Embedder
from knowledge.engine.edge import EdgeEngine
from knowledge.index import KnowledgeIndex
from knowledge.services import KnowledgeServices, build_knowledge
from knowledge.sources import Fetchers
from tests.conftest import new_tenant, search, services, upload, wait_for
from tests.knowledge.legacy_local_mode import LegacyLocalMode
from tests.knowledge.test_reingest import SECTIONS, CountingEmbedder, markdown, put_file

PRICES = b"# Prices\n\nThe Deluxe Facial costs HK$880. A back massage costs HK$450."


def test_a_local_mode_folder_is_migrated_on_start(
    settings: Settings, database: tuple[str | None, str | None], embedder: LocalE5Embedder, fetchers: Fetchers
) -> None:
    def app(index: Callable[[Settings], KnowledgeIndex] | None) -> Any:
        def knowledge(s: Settings, core: CoreServices) -> KnowledgeServices:
            given = index(s) if index else None
            return build_knowledge(s, core, embedder=embedder, index=given, fetchers=fetchers)

        return create_app(settings, knowledge_builder=knowledge, db_schema=database[1])

    # An old install: two tenants' sources ingested into local mode's collection-per-tenant layout.
    with TestClient(app(lambda s: KnowledgeIndex(LegacyLocalMode(s.qdrant_path, embedder.dim)))) as old:
        a, b = new_tenant(old, "Alpha"), new_tenant(old, "Beta")
        faq = wait_for(old, a, upload(old, a, "faq.md", markdown(SECTIONS))["id"])
        prices = wait_for(old, a, upload(old, a, "prices.md", PRICES)["id"])
        other = wait_for(old, b, upload(old, b, "faq.md", markdown(SECTIONS))["id"])
        assert faq["status"] == prices["status"] == other["status"] == "ready"
        tenant_a = services(old).core.keys.resolve(a).tenant_id
        points_before = services(old).knowledge.index.count(tenant_a, chunks_only=False)
        answer = search(old, a, "How much is the Deluxe Facial?")[0]["text"]
    assert (settings.qdrant_path / "collection" / f"tenant_{tenant_a}").is_dir()

    with TestClient(app(None)) as new:  # the default embedded index: Qdrant Edge, from settings
        knowledge = services(new).knowledge
        assert isinstance(knowledge.index.engine, EdgeEngine)
        assert not settings.qdrant_path.exists() and (settings.data_dir / "qdrant.migrated").is_dir()
        assert knowledge.index.count(tenant_a, chunks_only=False) == points_before
        assert knowledge.index.count(tenant_a, faq["id"]) == faq["chunks"]
        assert knowledge.index.count(tenant_a, prices["id"]) == prices["chunks"]
        assert search(new, a, "How much is the Deluxe Facial?")[0]["text"] == answer
        assert all("HK$880" not in h["text"] for h in search(new, b, "Deluxe Facial price", k=10))
        # The ingest docstore's records name the migrated points: the same file again embeds nothing.
        counter = CountingEmbedder(knowledge.embedder)
        knowledge.ingester._embedder = counter
        again = put_file(new, a, faq["id"], "faq.md", markdown(SECTIONS))
        assert again["status"] == "ready" and counter.passages_embedded == 0
        assert knowledge.index.count(tenant_a, chunks_only=False) == points_before

    with TestClient(app(None)) as restarted:  # nothing left to migrate; everything still there
        assert services(restarted).knowledge.index.count(tenant_a, chunks_only=False) == points_before
        assert search(restarted, a, "How much is the Deluxe Facial?")[0]["text"] == answer


def test_an_empty_data_dir_starts_without_a_migration(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_key="pa_test-platform-admin-key-0123456789")
    index = KnowledgeIndex.from_settings(settings, dim=8)
    assert isinstance(index.engine, EdgeEngine) and index.count("t") == 0
    index.close()
    assert not settings.qdrant_path.exists() and not (settings.data_dir / "qdrant.migrated").exists()
