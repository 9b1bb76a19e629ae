FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --create-home --home-dir /home/langhouse langhouse \
    && mkdir /data && chown langhouse:langhouse /data

WORKDIR /app

# Editable install: the package locates sql/ migrations relative to the source tree.
COPY pyproject.toml README.md ./
COPY app/ app/
COPY sql/ sql/
RUN pip install --no-cache-dir -e .

ENV LANGHOUSE_HOST=0.0.0.0 \
    LANGHOUSE_DATA_DIR=/data

USER langhouse
EXPOSE 3000
VOLUME /data

CMD ["langhouse", "serve"]
