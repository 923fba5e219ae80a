FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml setup.cfg README.md ./
COPY vault ./vault
COPY handlers ./handlers
COPY store ./store
COPY jobs ./jobs
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home vault \
    && mkdir -p /data \
    && chown vault:vault /data

USER vault
ENV HOST=0.0.0.0 \
    PORT=8084 \
    DB_PATH=/data/storage.db
VOLUME ["/data"]
EXPOSE 8084

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8084'), timeout=4)"]

CMD ["vault", "serve"]
