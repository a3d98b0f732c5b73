"""The Python callables behind the monthly DAG's tasks (prepare, extract, reconcile, audit).

Each takes plain arguments (and the Airflow context where it needs one) so that it runs and is
tested without Airflow's task machinery; the DAG file only wires them.
"""
