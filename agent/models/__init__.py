"""Chat models: the offline grounded responder (default) and any OpenAI-compatible endpoint."""
