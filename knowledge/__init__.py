"""Knowledge: sources, ingestion, the hybrid Qdrant index and retrieval."""
