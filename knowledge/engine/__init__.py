"""The vector engines behind KnowledgeIndex: Qdrant Edge (embedded) and a Qdrant server."""
