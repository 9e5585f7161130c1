# swarm-reconciler: the controller image.
#
#   docker build -t swarm-reconciler:0.1.0 .
#   docker run --rm swarm-reconciler:0.1.0 --version
#   docker run --rm -v "$PWD/examples:/manifests:ro" swarm-reconciler:0.1.0 validate /manifests
#
# Stages: `build` makes wheels of the project and of every dependency into /wheels; `install` puts
# them into a virtualenv (/opt/reconciler) from /wheels only, without any index; the final stage is
# the bare base plus that virtualenv, run as the unprivileged uid 10001. The controller needs no
# Docker socket of its own: it talks to DOCKER_HOST, normally the docker-socket-proxy.
#
# BASE is any Python 3.11+ image with `python -m venv` (the official python:3.11-slim by default;
# the test lab, which cannot pull it, passes --build-arg BASE=lab/python:3.11-slim).
#
# Offline builds: when the build context has a wheels/ folder with *.whl files, the build stage
# installs nothing from an index: the project is built with, and its dependencies are taken from,
# those wheels only (pip --no-index --find-links). Fill it on a machine with PyPI access with e.g.
#   pip wheel --wheel-dir wheels . 'setuptools>=68' wheel && rm wheels/swarm_reconciler-*.whl
# (the build backend, setuptools, must be among them). Without wheels/ the build stage uses PyPI.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
# A private virtualenv: works the same on images whose system Python is "externally managed".
RUN python -m venv /opt/build
WORKDIR /src
# The wildcard matches nothing when there is no wheels/ folder (pyproject.toml keeps COPY from failing).
COPY pyproject.toml wheel[s] ./prebuilt/
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
RUN set -eux; \
    if ls prebuilt/*.whl >/dev/null 2>&1; then \
        export PIP_NO_INDEX=1 PIP_FIND_LINKS=/src/prebuilt; \
    fi; \
    # The project's wheel and one of every dependency (`pip wheel` without --no-deps makes both).
    /opt/build/bin/pip wheel --wheel-dir /wheels .; \
    ls -l /wheels

FROM ${BASE} AS install
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
COPY --from=build /wheels /wheels
RUN set -eux; \
    python -m venv /opt/reconciler; \
    /opt/reconciler/bin/pip install --no-index --find-links /wheels swarm-reconciler; \
    # Nothing installs packages at run time: the virtualenv's own pip and setuptools go.
    /opt/reconciler/bin/pip uninstall -y pip setuptools; \
    /opt/reconciler/bin/reconciler --version

FROM ${BASE}
# Everything but the virtualenv first: these layers stay cached when only the code changes.
RUN set -eux; \
    groupadd --system --gid 10001 reconciler; \
    useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin reconciler; \
    mkdir /manifests

ENV PATH=/opt/reconciler/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

LABEL org.opencontainers.image.title="swarm-reconciler" \
      org.opencontainers.image.description="A reconciling operator for Docker Swarm: GitOps manifests to networks, services, Traefik routes, NFS volumes and keepalived." \
      org.opencontainers.image.licenses="Apache-2.0"

USER 10001:10001
WORKDIR /manifests
# /healthz, /readyz, /metrics and /status (`reconciler run --listen`, default :9100).
EXPOSE 9100
# No curl in slim images: Python's urllib. A non-2xx answer or no answer raises, i.e. exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9100/healthz', timeout=4)"]
ENTRYPOINT ["reconciler"]
CMD ["run", "--manifests", "/manifests"]

# Root-owned and read-only for uid 10001 (COPY ignores USER).
COPY --from=install /opt/reconciler /opt/reconciler
