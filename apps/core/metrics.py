"""Domain counters, exported on /metrics beside django-prometheus' request and database figures.

prometheus_client works across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set (the Docker image and
`make bench` set it); django-prometheus' export view then aggregates every worker's files.
"""

from pathlib import Path

from django.conf import settings
from prometheus_client import Counter

# In multiprocess mode each metric opens its file in this folder as it is made, here on import; a management command
# may get here before gunicorn's start-up has made the folder.
if settings.PROMETHEUS_MULTIPROC_DIR:
    Path(settings.PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

messages_created_total = Counter("messages_created", "Messages accepted by the API")
messages_delivered_total = Counter("messages_delivered", "Messages the SMS backend accepted")
messages_failed_total = Counter("messages_failed", "Messages that failed once every retry was spent")
products_cache_hits_total = Counter("products_cache_hits", "Catalog reads answered from the cache")
products_cache_misses_total = Counter("products_cache_misses", "Catalog reads that had to query the database")
