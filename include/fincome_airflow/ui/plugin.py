"""The ``fincome`` Airflow plugin: the operations page, its entry in the navigation, the fix of
the connection form's *Test* button (``port_zero.py``) and the DAG's timetable (custom
timetables must be registered by a plugin).

Registered by the distribution (entry point ``airflow.plugins``): installing ``fincome-airflow``
is all it takes; the api-server mounts the app at ``/fincome``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from fincome_airflow.timetable import MonthlyLoadTimetable
from fincome_airflow.ui.app import create_app
from fincome_airflow.ui.deps import URL_PREFIX
from fincome_airflow.ui.port_zero import PortZeroMiddleware


class FincomePlugin(AirflowPlugin):
    name = "fincome"
    timetables = [MonthlyLoadTimetable]
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Fincome loads"}]
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
