"""Handing work to Celery: enqueueing after commit, and telling an outage from a failure."""
