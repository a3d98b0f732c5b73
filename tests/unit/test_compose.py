"""``docker-compose.yaml`` + ``Dockerfile``: structure of the full stack (Docker cannot run here).

The file is read as Compose would: YAML with anchors and merge keys, then ``${VAR:-default}``
interpolation (``$$`` is a literal ``$``). Shell scripts are checked with ``bash -n`` and the
inline Python with ``compile``.
"""

from __future__ import annotations

import re
import subprocess
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.models.connection import Connection
from support.deploy import DEPLOY_ENV, SECRETS, read_env_file

from fincome_airflow.provider_info import CONN_FIELDS, CONN_TYPE

REPO = Path(__file__).resolve().parents[2]
IMAGE = "fincome-airflow:3.3.2"
AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
REQUIRED = {*AIRFLOW_COMPONENTS, "airflow-init", "postgres", "redis", "erp-postgres", "erp-seed",
            "fincome-sandbox"}  # fmt: skip
ONE_SHOT = {"airflow-init", "erp-seed", "airflow-cli"}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Apply Compose's variable interpolation to every string of ``value``."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, kind, default = match.groups()
        if match[0] == "$$":
            return "$"
        if name in env and env[name] != "":
            return env[name]
        if kind == "?":
            raise KeyError(f"{name} is required: {default}")
        return default or ""

    return _VARIABLE.sub(substitute, value)


#: The secrets every Airflow service requires (``.env``), given here for the structure tests.
GIVEN_SECRETS = {secret: f"test-{secret.lower()}" for secret in SECRETS}


def load_compose(secrets: dict[str, str] = GIVEN_SECRETS, **env: str) -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    return interpolate(raw, {**secrets, **env})


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """What a container gets, as Compose gives it: its env files, then ``environment`` over them."""
    merged: dict[str, str] = {}
    for env_file in service.get("env_file", []):
        merged.update(read_env_file(REPO / env_file))
    return {**merged, **service.get("environment", {})}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


def connection(service: dict[str, Any], conn_id: str) -> Connection:
    return Connection.from_json(
        service["environment"][f"AIRFLOW_CONN_{conn_id.upper()}"], conn_id=conn_id
    )


def script_of(service: dict[str, Any]) -> str:
    command = service["command"]
    assert service["entrypoint"] == "/bin/bash" and command[0] == "-c", command
    return command[1]


def test_compose_declares_official_stack_and_project_services_when_loaded(services):
    assert set(services) >= REQUIRED


@pytest.mark.parametrize(("name", "command"), AIRFLOW_COMPONENTS.items())
def test_airflow_component_runs_project_image_with_celery_when_started(services, name, command):
    service = services[name]
    assert service["image"] == IMAGE
    assert service["build"] == "."
    assert service["command"] == command
    assert environment_of(service)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment_of(service)["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"


@pytest.mark.parametrize("name", sorted({*AIRFLOW_COMPONENTS, "airflow-init", "airflow-cli"}))
def test_airflow_service_takes_the_cluster_settings_from_the_deploy_file_unchanged(services, name):
    """deploy/cluster.env is what tests/e2e/test_celery_cluster.py runs a cluster with."""
    service = services[name]
    assert (REPO / service["env_file"][0]).resolve() == DEPLOY_ENV
    repeated = set(service["environment"]) & set(read_env_file())
    assert not repeated, f"{name} overrides the proven settings {repeated}"
    for secret in SECRETS:
        assert service["environment"][secret] == GIVEN_SECRETS[secret]


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_refuses_to_start_without_each_shared_secret(secret):
    given = {key: value for key, value in GIVEN_SECRETS.items() if key != secret}
    with pytest.raises(KeyError, match=secret):
        load_compose(given)


def test_two_celery_workers_run_by_default_and_scale_with_a_variable():
    assert load_compose()["services"]["airflow-worker"]["deploy"]["replicas"] == "2"
    scaled = load_compose(AIRFLOW_WORKERS="5")
    assert scaled["services"]["airflow-worker"]["deploy"]["replicas"] == "5"


@pytest.mark.parametrize("name", sorted(REQUIRED - ONE_SHOT))
def test_long_running_service_has_healthcheck_and_restart_when_declared(services, name):
    assert services[name]["healthcheck"]["test"], name
    assert services[name]["restart"] == "always"


@pytest.mark.parametrize("name", sorted({*AIRFLOW_COMPONENTS, "airflow-init"}))
def test_airflow_service_mounts_project_folders_when_started(services, name):
    mounts = {volume.split(":")[1] for volume in services[name]["volumes"]}
    assert mounts >= {f"/opt/airflow/{folder}" for folder in ("dags", "plugins", "logs", "config")}


def test_databases_keep_data_in_named_volumes_when_declared(compose, services):
    for name in ("postgres", "erp-postgres"):
        (volume,) = services[name]["volumes"]
        source, target = volume.split(":")
        assert target == "/var/lib/postgresql/data"
        assert source in compose["volumes"]


def test_depends_on_targets_exist_and_have_no_cycle_when_resolved(services):
    graph = {name: set(service.get("depends_on", {})) for name, service in services.items()}
    for name, targets in graph.items():
        assert targets <= set(services), name
    order = list(TopologicalSorter(graph).static_order())
    assert order.index("erp-seed") < order.index("airflow-init") < order.index("airflow-scheduler")


@pytest.mark.parametrize("name", sorted(AIRFLOW_COMPONENTS))
def test_airflow_component_waits_for_init_and_backing_services_when_starting(services, name):
    depends = services[name]["depends_on"]
    assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    for backing in ("postgres", "redis", "erp-postgres", "fincome-sandbox"):
        assert depends[backing]["condition"] == "service_healthy", backing


def test_worker_waits_for_healthy_api_server_when_starting(services):
    depends = services["airflow-worker"]["depends_on"]
    assert depends["airflow-apiserver"]["condition"] == "service_healthy"


def test_fincome_connection_targets_sandbox_with_its_key_when_key_set():
    services = load_compose(FINCOME_API_KEY="k-123")
    conn = connection(services["services"]["airflow-worker"], "fincome_api")
    sandbox = services["services"]["fincome-sandbox"]
    assert conn.conn_type == CONN_TYPE
    assert conn.host == "http://fincome-sandbox:8000"
    assert conn.password == "k-123"
    assert sandbox["environment"]["FINCOME_SANDBOX_API_KEY"] == "k-123"


def test_fincome_connection_extras_are_form_fields_when_parsed(services):
    extra = connection(services["airflow-worker"], "fincome_api").extra_dejson
    assert set(extra) == {"requests_per_second", "max_concurrency", "timeout", "retry_budget"}
    assert set(extra) <= set(CONN_FIELDS)


def test_erp_connection_matches_erp_server_when_parsed(services):
    conn = connection(services["airflow-worker"], "erp_db")
    server = services["erp-postgres"]["environment"]
    assert conn.conn_type == "postgres"
    assert (conn.host, conn.port) == ("erp-postgres", 5432)
    assert conn.schema == server["POSTGRES_DB"]
    assert (conn.login, conn.password) == (server["POSTGRES_USER"], server["POSTGRES_PASSWORD"])


def test_state_connection_has_own_database_created_and_migrated_by_init_when_parsed(services):
    conn = connection(services["airflow-worker"], "fincome_state")
    metadata = services["postgres"]["environment"]
    assert conn.conn_type == "postgres"
    assert conn.host == "postgres"
    assert conn.schema == "fincome_state" != metadata["POSTGRES_DB"]
    assert (conn.login, conn.password) == (metadata["POSTGRES_USER"], metadata["POSTGRES_PASSWORD"])
    script = script_of(services["airflow-init"])
    created = script.index("CREATE DATABASE fincome_state")
    assert created < script.index("python -m fincome_airflow.state migrate")


def test_init_creates_api_pool_named_by_dag_setting_when_run(services):
    environment = environment_of(services["airflow-init"])
    assert (
        environment["FINCOME_API_POOL"]
        == environment_of(services["airflow-worker"])["FINCOME_API_POOL"]
    )
    assert int(environment["FINCOME_API_POOL_SLOTS"]) > 0
    pools_set = 'airflow pools set "${FINCOME_API_POOL}" "${FINCOME_API_POOL_SLOTS}"'
    assert pools_set in script_of(services["airflow-init"])


def test_sandbox_command_is_accepted_by_sandbox_cli_when_parsed(services):
    from fincome_sandbox.__main__ import _parser

    sandbox = services["fincome-sandbox"]
    assert sandbox["entrypoint"] == ["python", "-m", "fincome_sandbox"]
    args = _parser().parse_args(sandbox["command"])
    assert (args.host, args.port) == ("0.0.0.0", 8000)
    assert f":{args.port}" in sandbox["healthcheck"]["test"][-1]
    assert connection(services["airflow-worker"], "fincome_api").host.endswith(f":{args.port}")


def test_seed_fills_erp_server_through_erp_cli_when_run(services):
    seed = services["erp-seed"]
    url = seed["environment"]["ERP_URL"]
    assert url == "postgresql+psycopg2://erp:erp@erp-postgres:5432/erp"
    assert 'python -m fincome_erp demo --url "${ERP_URL}"' in script_of(seed)
    assert seed["depends_on"]["erp-postgres"]["condition"] == "service_healthy"


def test_deadline_settings_reach_dag_processor_when_configured():
    services = load_compose(FINCOME_DEADLINE_INTERVAL="2h", FINCOME_DEADLINE_HTTP_CONN_ID="hook")
    env = services["services"]["airflow-dag-processor"]["environment"]
    assert env["FINCOME_DEADLINE_INTERVAL"] == "2h"
    assert env["FINCOME_DEADLINE_HTTP_CONN_ID"] == "hook"


@pytest.mark.parametrize("name", ["airflow-init", "erp-seed"])
def test_shell_script_parses_when_checked_with_bash(services, name):
    result = subprocess.run(["bash", "-n"], input=script_of(services[name]), capture_output=True,
                            text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["airflow-init", "erp-seed"])
def test_inline_python_compiles_when_extracted(services, name):
    snippets = re.findall(r"python -c '(.*?)'", script_of(services[name]), re.DOTALL)
    assert snippets
    for snippet in snippets:
        compile(snippet, name, "exec")


def test_dockerfile_builds_on_airflow_image_and_installs_project_when_built():
    text = (REPO / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and line[0] != "#"]
    froms = [rest for op, *rest in instructions if op == "FROM"]
    assert froms == [["apache/airflow:3.3.2-python3.11"]]
    runs = " ".join(line for line in re.split(r"\n(?=[A-Z]+ )", text) if line.startswith("RUN"))
    assert "-r requirements.txt -c constraints.txt" in runs
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in runs
    assert "pip install --no-cache-dir --no-deps ./include" in runs
    assert "ARG AIRFLOW_VERSION=3.3.2" in text


def test_dockerignore_keeps_build_inputs_when_building():
    ignored = {
        line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }  # fmt: skip
    assert {".venv", ".git", ".env"} <= ignored
    for needed in ("include", "dags", "plugins", "requirements.txt", "constraints.txt"):
        assert needed not in ignored
        assert (REPO / needed).exists()
