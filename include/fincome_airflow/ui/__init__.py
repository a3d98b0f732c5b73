"""The data team's operations page in the Airflow UI (plugin ``fincome``, mounted at ``/fincome``).

``plugin.py`` registers it (entry point ``airflow.plugins``), ``app.py`` assembles the FastAPI
app, ``history.py`` reads the state database, ``views.py`` shapes rows for people, ``charts.py``
draws SVG on the server, ``access.py`` asks Airflow's auth manager, ``rerun.py`` triggers through
Airflow's REST API with the user's own token.
"""

from typing import Final

#: Where the plugin mounts the app in the api-server (here: the plugin reads it without FastAPI).
URL_PREFIX: Final = "/fincome"
