"""The deployed cluster settings, ``deploy/cluster.env``: read by docker-compose.yaml (``env_file``)
and by the cluster test."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from support.paths import REPO

DEPLOY_ENV: Final = REPO / "deploy" / "cluster.env"
#: Secrets with one value on every Airflow process, never in the deploy file. A member with
#: another Fernet key cannot read what the others encrypted (the triggerer dies on the first
#: deadline callback); tokens signed with another JWT secret or secret key are refused.
SECRETS: Final = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY",
)


def read_env_file(path: Path = DEPLOY_ENV) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env file (compose's ``env_file`` syntax without quoting)."""
    settings: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        settings[key.strip()] = value.strip()
    return settings
