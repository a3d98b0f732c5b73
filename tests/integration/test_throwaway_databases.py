"""The tests' throwaway databases (``support.throwaway``) on the real servers: a module's are
dropped once the module is over, a session fixture's when the session ends, every one by
``close``; a drop handed over before a unit test still runs while that test refuses the network."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support import throwaway
from support.network import refuse_network
from support.throwaway import ThrowawayDatabases


def _exists(databases: ThrowawayDatabases, url: str) -> bool:
    name = make_url(url).database
    engine = create_engine(databases.server_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                query = "SELECT 1 FROM pg_database WHERE datname = :name"
            else:
                query = "SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"
            return conn.execute(text(query), {"name": name}).first() is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "server", [throwaway.postgresql, throwaway.mariadb], ids=["postgresql", "mariadb"]
)
def test_a_module_database_goes_when_its_module_ends_a_session_one_when_the_session_does(server):
    databases = server()
    try:
        of_module = databases.create("teardown_probe")
        with throwaway.setting_up("session"):
            of_session = databases.create("teardown_probe")
        assert _exists(databases, of_module) and _exists(databases, of_session)

        databases.drop_module_databases()  # what the module's end does
        databases.wait()
        assert not _exists(databases, of_module)
        assert _exists(databases, of_session)
    finally:
        databases.close()
    assert not _exists(databases, of_session)


def test_a_drop_handed_over_before_a_unit_test_runs_while_that_test_refuses_the_network(
    monkeypatch,
):
    databases = throwaway.postgresql()
    try:
        url = databases.create("teardown_probe")
        with monkeypatch.context() as unit_test:
            databases.drop_module_databases()
            refuse_network(unit_test, "a unit test")
            databases.wait()
    finally:
        databases.close()
    assert not _exists(databases, url)
