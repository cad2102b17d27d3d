# One image for the API and the workers (production, see docker-compose.yml).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap util-linux libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY challenge ./challenge
COPY mlfo ./mlfo
COPY sandbox ./sandbox
COPY leaderboards ./leaderboards
RUN pip install --no-cache-dir '.[torch]'

ENV MLCHALLENGE_HOME=/data \
    MLCHALLENGE_MODE=production
VOLUME ["/data"]
EXPOSE 8000
CMD ["mlchallenge", "api", "--host", "0.0.0.0", "--port", "8000"]
