"""The website live-chat channel: a public widget key per tenant, visitor sessions, a WebSocket."""
