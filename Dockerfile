# Airflow image for the news pipeline: the official Airflow 3.3.2 image + the project's pinned
# dependencies (requirements.lock) + the project itself, DAGs, plugins and config.
#
#   docker compose build                                   # no spaCy model
#   docker compose build --build-arg SPACY_MODEL_URL=...   # or set SPACY_MODEL_URL in .env
#
# SPACY_MODEL_URL: optional URL of a spaCy model wheel (e.g. de_core_news_md 3.8.x), installed at
# build time only; nothing is ever downloaded when a container starts. See docs/docker.md.
FROM apache/airflow:3.3.2-python3.11

ARG SPACY_MODEL_URL=""

USER airflow

# 1. Pinned third-party dependencies (own layer: only rebuilt when the lock changes).
#    apache-airflow is named explicitly so pip cannot move the image's Airflow version.
COPY --chown=airflow:0 requirements.lock /tmp/news-pipeline/requirements.lock
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /tmp/news-pipeline/requirements.lock

# 2. Optional spaCy model, build time only.
RUN if [ -n "${SPACY_MODEL_URL}" ]; then \
        pip install --no-cache-dir --no-deps "${SPACY_MODEL_URL}"; \
    else \
        echo "SPACY_MODEL_URL not set: no spaCy model installed"; \
    fi

# 3. The project itself (dependencies are already there: --no-deps).
COPY --chown=airflow:0 pyproject.toml README.md /tmp/news-pipeline/src/
COPY --chown=airflow:0 pipeline/ /tmp/news-pipeline/src/pipeline/
RUN pip install --no-cache-dir --no-deps /tmp/news-pipeline/src \
    && rm -rf /tmp/news-pipeline

# 4. DAGs, plugins and config (docker-compose.yml also mounts them for live editing).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 config/ /opt/airflow/config/
