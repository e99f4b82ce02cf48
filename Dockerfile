# Image of the platform's Python processes: the API (default command) and the
# Temporal worker (`python worker.py`), see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The code runs from /app (it finds migrations/ next to its packages there).
    PYTHONPATH=/app \
    DATA_DIR=/data

WORKDIR /app

RUN groupadd --system --gid 10001 educonnect \
 && useradd --system --uid 10001 --gid educonnect --home-dir /app --shell /usr/sbin/nologin educonnect \
 && mkdir -p /data && chown educonnect:educonnect /data

# Only what runs in production (no .venv, no .data, no tests).
COPY pyproject.toml ./
COPY educonnect ./educonnect
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY migrations ./migrations
COPY worker.py ./

RUN pip install . \
 && rm -rf build ./*.egg-info

USER educonnect
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# `python -m api` (api/__main__.py) ignores X-Forwarded-For unless told how many
# reverse proxies stand in front: FORWARDED_FOR_TRUSTED_HOPS=N (docker-compose.yml).
ENV API_HOST=0.0.0.0 API_PORT=8000
CMD ["python", "-m", "api"]
