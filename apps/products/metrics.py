"""The catalog's counters, exported on /metrics (apps/core/observability/metrics.py)."""

from prometheus_client import Counter

from apps.core.observability import metrics as _core_metrics  # noqa: F401 - makes the multiprocess folder first

products_cache_hits_total = Counter("products_cache_hits", "Catalog reads answered from the cache")
products_cache_misses_total = Counter("products_cache_misses", "Catalog reads that had to query the database")
