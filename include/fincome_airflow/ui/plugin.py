"""The ``fincome`` Airflow plugin: the operations page, its entry in the navigation, the fix of
the connection form's *Test* button (``port_zero.py``) and the DAG's timetable (custom
timetables must be registered by a plugin).

Registered by the distribution (entry point ``airflow.plugins``): installing ``fincome-airflow``
is all it takes; the api-server mounts the app at ``/fincome``.

Every task process loads every plugin (for their macros), so this module stays light: the app
(FastAPI, Airflow's API security, ~0.7 s of CPU to import) is built when the api-server first
reads ``fastapi_apps``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from fincome_airflow.timetable import MonthlyLoadTimetable
from fincome_airflow.ui import URL_PREFIX
from fincome_airflow.ui.port_zero import PortZeroMiddleware


@cache
def fastapi_apps() -> list[dict[str, Any]]:
    """The plugin's FastAPI apps (built once per process, on first use)."""
    from fincome_airflow.ui.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Fincome loads"}]


class _BuiltOnRead:
    """Class attribute whose value :func:`fastapi_apps` builds when it is first read."""

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        return fastapi_apps()


class FincomePlugin(AirflowPlugin):
    name = "fincome"
    timetables = [MonthlyLoadTimetable]
    fastapi_apps = _BuiltOnRead()
    fastapi_root_middlewares = [
        {"middleware": PortZeroMiddleware, "name": "Fincome connection test: port 0 is none"}
    ]
    external_views = [
        {
            "name": "Fincome loads",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "fincome",
        }
    ]
