"""Caches owned by the database: versioned entries and the request's one Redis round trip."""
