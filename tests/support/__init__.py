"""What the tests share, one module per concern (``tests/`` is on ``sys.path``: ``from
support.staging import stage_records``).

- ``paths``: the repository's folders.
- ``connections``: ``AIRFLOW_CONN_*`` JSON from :mod:`fincome_dev.connections`, the one factory
  per connection type (Fincome API, ERP and state databases) that the demo and bench use too.
- ``staging``: staged records (hashed by :mod:`fincome_airflow.stage.hashing`), loaded months, runs.
- ``clock``: a fake clock; ``erp``: reference ERPs; ``erp_truth``: what Fincome must hold.
- ``airflow``: local Airflows on a copy of one migrated database; ``dag_runs``: ``airflow dags
  test`` of the monthly load; ``reliability``: the fault scenarios' rig; ``deadline``: the
  deadline callback plugin.
- ``dist``, ``deploy``, ``celery_cluster``: the wheel, ``deploy/cluster.env``, the cluster.
- ``browser``: Chromium pages; ``readme``: the README's recipes.
- ``shared``, ``schedule``: what a session makes once, and how its tests are spread over workers.
- ``throwaway``: the throwaway databases, each dropped once the module that made it is over.
"""
