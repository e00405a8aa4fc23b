"""Channel adapters and webhooks (issue 4)."""
