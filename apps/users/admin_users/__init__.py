"""Admins managing other users: role, activation and name changes, each audited."""
