# gatesim: the identity mock and the gate service in one image.
# Build: docker build -t gatesim .   Run: docker run -p 8000:8000 gatesim
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    GATESIM_DATABASE_URL=sqlite:////data/gatesim.db \
    GATESIM_TEMPLATE_KEY_FILE=/data/gatesim.db.key \
    MALLOC_ARENA_MAX=2 \
    NUMBA_CACHE_DIR=/app/.numba-cache

RUN pip install --no-cache-dir uv \
    && useradd --create-home --uid 10001 gatesim \
    && mkdir /data && chown gatesim /data

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
RUN uv sync --locked --no-dev \
    && .venv/bin/python -c "from biometrics import matching; matching.warm_up()" \
    && chown -R gatesim /app/.numba-cache

# The comparison kernels are compiled above, once, so workers start warm.
USER gatesim
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["/app/.venv/bin/gatesim", "serve", "--host", "0.0.0.0", "--port", "8000"]
