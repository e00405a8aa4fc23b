"""Cross-cutting foundations: database, tenancy, auth, errors, background jobs. Imports no domain package."""
