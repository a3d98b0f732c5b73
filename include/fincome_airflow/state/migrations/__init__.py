"""Alembic scripts of the state database: ``env.py`` and one file per revision in ``versions/``.

Applied by :mod:`fincome_airflow.state.migrate`; never imported by the rest of the code.
"""
