"""The ``fincome`` Airflow plugin: the operations page and its entry in the navigation.

Registered by the distribution (entry point ``airflow.plugins``): installing ``fincome-airflow``
is all it takes; the api-server mounts the app at ``/fincome``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from fincome_airflow.ui.app import create_app
from fincome_airflow.ui.deps import URL_PREFIX


class FincomePlugin(AirflowPlugin):
    name = "fincome"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Fincome loads"}]
    external_views = [
        {
            "name": "Fincome loads",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "fincome",
        }
    ]
