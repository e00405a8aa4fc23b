# Parley's image: `parley serve` by default; the same image runs `parley worker` and `parley migrate`
# (docker-compose.yml). Settings are environment variables (PARLEY_*, docs/operations.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PARLEY_DATA_DIR=/data

WORKDIR /app
# Dependencies first, so a code change does not reinstall them: the project's metadata with empty
# packages is enough for pip to resolve and install every pinned dependency (and the otel extra).
COPY pyproject.toml README.md ./
RUN mkdir -p core knowledge agent tools channels crm inbox evals web \
    && touch app.py config.py \
    && pip install '.[otel]' \
    && pip uninstall -y parley \
    && rm -rf core knowledge agent tools channels crm inbox evals web app.py config.py
COPY . .
# Installed in place (editable): the evals datasets and other files that are not Python packages are
# read from /app, as in a checkout; `parley` lands on PATH.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 parley \
    && mkdir -p /data && chown parley:parley /data
USER parley
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["parley", "serve", "--host", "0.0.0.0", "--port", "8000"]
