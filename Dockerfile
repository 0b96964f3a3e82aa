# syntax=docker/dockerfile:1
# Build stage: compile wheels once, so the runtime image carries no compiler.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY requirements/ /src/requirements/
RUN pip wheel --wheel-dir /wheels -r /src/requirements/production.txt

# Runtime stage: slim, non-root, gunicorn. Runs on a read-only root filesystem (deploy/kubernetes): the code and the
# collected static files belong to root and are read-only to the runtime user, its bytecode is compiled here, and
# the processes write only to /tmp (gunicorn's heartbeat files, PROMETHEUS_MULTIPROC_DIR, beat's schedule) and
# /app/media (local product images, when no S3 bucket is set). It starts without reaching the database.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    GUNICORN_WORKERS=2
# A fixed UID and GID (10001): Kubernetes' runAsUser/runAsGroup name the same numbers, and files on mounted
# volumes keep an owner that means the same thing in every image.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY . /app
# collectstatic needs settings to import; these build-time values never reach a running container (collectstatic
# connects to neither the database nor the broker), and the key is random: production refuses one written here.
# PROMETHEUS_MULTIPROC_DIR is emptied for it: Django makes that folder on start, and one made here would be root's.
# Then the bytecode (nothing can write it at run time), no write bit for anyone but root, and the one folder the
# runtime user may write.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" ALLOWED_HOSTS=build \
    DATABASE_URL=postgres://build@localhost/build CELERY_BROKER_URL=amqp://build@localhost// REDIS_URL=redis://build \
    MEDIA_SINGLE_HOST=true PROMETHEUS_MULTIPROC_DIR= python manage.py collectstatic --noinput \
    && python -m compileall -q /app \
    && chmod -R go-w /app \
    && mkdir -p /app/media && chown app:app /app/media
USER app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health/live/', timeout=2).status != 200)"
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
