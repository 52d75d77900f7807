# One image for the scheduler, the workers and Flower (see docker-compose.yml).
# The build stage compiles the relevance hot path (mypyc, see setup.py) into a wheel, so the
# image itself carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY worker ./worker
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/policywatch-*.whl)[flower]" && rm -rf /wheels

# Never run Celery as root; /data holds what channels write (the file outbox).
RUN useradd --system --uid 10001 --home-dir /data policywatch \
    && mkdir -p /data \
    && chown policywatch /data
USER policywatch
WORKDIR /data

ENTRYPOINT ["policywatch"]
CMD ["--help"]
