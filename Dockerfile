# The project's Airflow image: the official 3.3.2 image plus the pinned requirements and the
# production distribution (include/: fincome_airflow, the provider with the `fincome` connection
# type, the tasks and the operations page). docker-compose.yaml builds it for every Airflow
# component, and once more with DEV_TOOLS=true for the demo's sandbox and ERP seeding
# (dev/fincome-sandbox, dev/fincome-erp), which a production image never carries.
FROM apache/airflow:3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2

# mysqlclient, the MySQL provider's driver (an ERP on MySQL/MariaDB), compiles against
# libmariadb-dev whenever the image's own copy differs from the pinned one.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
    && apt-get clean && rm -rf /var/lib/apt/lists/*

# The official image installs as the airflow user (pip refuses root there).
USER airflow
WORKDIR /opt/project

COPY --chown=airflow:0 requirements.txt constraints.txt ./
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r requirements.txt -c constraints.txt

COPY --chown=airflow:0 include ./include
RUN pip install --no-cache-dir --no-deps ./include \
    && python -c "import fincome_airflow"

ARG DEV_TOOLS=false
COPY --chown=airflow:0 dev ./dev
RUN if [ "${DEV_TOOLS}" = "true" ]; then \
        pip install --no-cache-dir --no-deps ./dev/fincome-erp ./dev/fincome-sandbox \
        && python -c "import fincome_sandbox, fincome_erp"; \
    fi

# Baked in so the image runs on its own; docker-compose.yaml mounts the working copies over them.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

WORKDIR /opt/airflow
