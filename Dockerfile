# syntax=docker/dockerfile:1
# One image for the API, the workers (relay, recurring, notifier, audit) and the migration Job;
# the Kubernetes Deployments pick the process with `command` (infra/workloads/catalog.py).
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t REGISTRY/todo-platform:TAG --push .
#
# Runs as uid/gid 10001 with a read-only root filesystem: nothing is written outside /tmp
# (an emptyDir in the pods), bytecode is compiled at build time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve the locked dependencies into /app/.venv with uv --------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (their layer survives source changes); only the runtime ones: no dev
# tools and no Pulumi SDKs. The project itself is not installed, its source is copied below.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-group infra --no-install-project
COPY alembic.ini ./
COPY app ./app
COPY services ./services
RUN /app/.venv/bin/python -m compileall -q app services

# --- runtime: the interpreter, the environment and the source; no compiler, no uv ------------
FROM ${PYTHON_IMAGE} AS runtime
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="todo-platform" \
      org.opencontainers.image.description="Task API and event workers of the todo platform" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
RUN groupadd --system --gid 10001 todo \
    && useradd --system --uid 10001 --gid todo --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin todo
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /app
# Owned by root and not writable by the app user: the code cannot be changed at run time.
COPY --from=build /app /app
USER 10001:10001
EXPOSE 8000 8080
# The API by default; workers run `python -m services.<name>`, the migration Job
# `alembic upgrade head`. Kubernetes probes check health (no HEALTHCHECK here).
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
