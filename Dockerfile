# drillbot: one image for every platform and both profiles (SQLite embedded; PostgreSQL scale-out,
# asyncpg being in the `all` extra: compose.yaml runs three replicas of it); the embedded default
# runs with no tokens at all.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY questions ./questions
COPY prompts ./prompts
RUN pip install --no-cache-dir '.[all]' \
 && useradd --create-home drillbot && mkdir -p /app/data && chown drillbot /app/data
USER drillbot
VOLUME ["/app/data"]
ENTRYPOINT ["drillbot"]
CMD ["run"]
