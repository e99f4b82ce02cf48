# Image of the platform's Python processes: the API (default command) and the
# Temporal worker (`python worker.py`), see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data

WORKDIR /app

RUN groupadd --system --gid 10001 educonnect \
 && useradd --system --uid 10001 --gid educonnect --home-dir /app --shell /usr/sbin/nologin educonnect \
 && mkdir -p /data && chown educonnect:educonnect /data

# The production lock first (this layer is kept while only the code changes):
# exact versions, every file checked against its hash (README, "Dependencies").
COPY requirements/production.txt ./requirements/production.txt
RUN pip install --require-hashes -r requirements/production.txt

# Only what runs in production (no .venv, no .data, no tests).
COPY pyproject.toml ./
COPY educonnect ./educonnect
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY migrations ./migrations
COPY worker.py ./

# The package itself, without dependencies (all above) and editable: the code runs
# from /app, from any working directory, and educonnect/db.py finds migrations/
# next to the packages.
RUN pip install --no-deps -e .

# Bytecode written now (PYTHONDONTWRITEBYTECODE above, and /app is read-only for
# the processes): the workflow sandbox imports the workflow modules again for
# every workflow run, and would otherwise compile their source each time.
RUN python -m compileall -q educonnect workflows activities api worker.py

USER educonnect
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# `python -m api` (api/__main__.py) ignores X-Forwarded-For unless told how many
# reverse proxies stand in front: FORWARDED_FOR_TRUSTED_HOPS=N (docker-compose.yml).
ENV API_HOST=0.0.0.0 API_PORT=8000
CMD ["python", "-m", "api"]
