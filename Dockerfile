# One image for the scheduler, the workers and Flower (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
RUN pip install '.[flower]'

# Never run Celery as root; /data holds what channels write (the file outbox).
RUN useradd --system --uid 10001 --home-dir /data policywatch \
    && mkdir -p /data \
    && chown policywatch /data
USER policywatch
WORKDIR /data

ENTRYPOINT ["policywatch"]
CMD ["--help"]
