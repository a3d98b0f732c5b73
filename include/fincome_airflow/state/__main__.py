"""``python -m fincome_airflow.state``: migrate the state database, show or undo its revision.

The database is the Airflow connection ``--conn-id`` (default ``fincome_state``) or a
SQLAlchemy ``--url``. Run ``migrate`` once per deployment, beside ``airflow db migrate``; tasks
also migrate on first use, under the same lock.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from fincome_airflow.state import migrate, revisions
from fincome_airflow.state.store import DEFAULT_STATE_CONN_ID

#: ``status`` exit codes: current, to migrate, refused.
EXIT_BY_VERDICT = {
    revisions.Verdict.CURRENT: 0,
    revisions.Verdict.EMPTY: 1,
    revisions.Verdict.FIRST_RELEASE: 1,
    revisions.Verdict.BEHIND: 1,
    revisions.Verdict.AHEAD: 2,
    revisions.Verdict.UNRECOGNISED: 2,
}


def _parser() -> argparse.ArgumentParser:
    database = argparse.ArgumentParser(add_help=False)
    where = database.add_mutually_exclusive_group()
    where.add_argument("--conn-id", default=DEFAULT_STATE_CONN_ID, help="Airflow connection id")
    where.add_argument("--url", help="SQLAlchemy URL (instead of the connection)")
    parser = argparse.ArgumentParser(prog="python -m fincome_airflow.state", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_, parents=[database])

    command("status", "the database's revision against the code's (exit 0: current)")
    up = command("migrate", "upgrade to the code's head revision (or --to)")
    up.add_argument("--to", default="heads", help="target revision (default: head)")
    down = command("downgrade", "undo the migrations after REVISION")
    down.add_argument("revision", help="a revision this code ships, or 'base' (drops every table)")
    new = command("revision", "developers: autogenerate the next migration")
    new.add_argument("-m", "--message", required=True)
    return parser


def _engine(args: argparse.Namespace) -> Engine:
    from fincome_airflow.engines import engine_for_connection, make_engine

    return make_engine(args.url) if args.url else engine_for_connection(args.conn_id)


def _new_revision(engine: Engine, message: str) -> None:
    from alembic import command

    number = f"{int(revisions.head()) + 1:04d}"
    with engine.begin() as conn:
        command.revision(revisions.alembic_config(conn), message, autogenerate=True, rev_id=number)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = _engine(args)
    try:
        before = migrate.status(engine)
        print(before.describe(), flush=True)
        if args.command == "status":
            return EXIT_BY_VERDICT[before.verdict]
        if args.command == "revision":
            _new_revision(engine, args.message)
            return 0
        before.check_writable()
        if args.command == "migrate":
            after = migrate.upgrade(engine, args.to)
        else:
            after = migrate.downgrade(engine, args.revision)
        print(f"now: {after.describe()}", flush=True)
        return 0
    except revisions.StateSchemaError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
