# teamgate: one image for `serve`, `worker` and the operator commands.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/teamgate --create-home teamgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER teamgate
WORKDIR /var/lib/teamgate
ENV TEAMGATE_HOST=0.0.0.0 \
    TEAMGATE_PORT=8000 \
    TEAMGATE_DATA_DIR=/var/lib/teamgate \
    TEAMGATE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# SIGTERM: requests in flight finish (up to 30 s), the dispatcher finishes the message in hand
STOPSIGNAL SIGTERM
CMD ["teamgate", "serve"]
