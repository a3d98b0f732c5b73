# The project's Airflow image: the official 3.3.2 image plus the pinned requirements and the
# project's own distribution (include/: the fincome_airflow provider with the `fincome`
# connection type, fincome_sandbox, fincome_erp). docker-compose.yaml builds it once and runs
# every Airflow component, the sandbox and the ERP seeding from it.
FROM apache/airflow:3.3.2-python3.11

ARG AIRFLOW_VERSION=3.3.2

# The official image installs as the airflow user (pip refuses root there).
USER airflow
WORKDIR /opt/project

COPY --chown=airflow:0 requirements.txt constraints.txt ./
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r requirements.txt -c constraints.txt

COPY --chown=airflow:0 include ./include
RUN pip install --no-cache-dir --no-deps ./include \
    && python -c "import fincome_airflow, fincome_sandbox, fincome_erp"

# Baked in so the image runs on its own; docker-compose.yaml mounts the working copies over them.
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins

WORKDIR /opt/airflow
