"""The ``fincome`` plugin: every task process loads it, the api-server mounts its app."""

from __future__ import annotations

import subprocess
import sys

from fincome_airflow.ui import URL_PREFIX
from fincome_airflow.ui.plugin import FincomePlugin, fastapi_apps


def test_loading_the_plugin_imports_neither_fastapi_nor_the_app():
    probe = (
        "import sys; import fincome_airflow.ui.plugin; "
        "print(sorted(m for m in ('fastapi', 'fincome_airflow.ui.app') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr


def test_the_plugin_serves_one_app_at_its_prefix_built_once():
    (app,) = FincomePlugin().fastapi_apps
    assert app["url_prefix"] == URL_PREFIX == "/fincome"
    assert app["name"] == "Fincome loads"
    assert type(app["app"]).__name__ == "FastAPI"
    assert FincomePlugin.fastapi_apps is fastapi_apps() is FincomePlugin().fastapi_apps
    assert {view["href"] for view in FincomePlugin.external_views} == {"/fincome/"}
