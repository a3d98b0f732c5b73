"""``python -P -m fincome_dev.airflow_command [--normal-exit] <args>``: ``airflow <args>`` (the
``airflow`` script's own ``main()``) with each Param schema checked once
(:mod:`fincome_dev.schema_checks`) and Airflow's imports left out of garbage collections
(:mod:`fincome_dev.import_gc`), ending without the interpreter's teardown, as the fork
server's children do (:func:`~fincome_dev.forkchild.exit_after`), unless ``--normal-exit``.

A local runtime's components that cannot be forked run so
(:mod:`fincome_dev.airflow_env`): freeing Airflow's objects at exit costs about 2 s of CPU a
process, and an api-server told to stop took 8 to 16 s of wall to do it on a loaded machine
(its runtime's 15 s grace then ran out: it was killed).
"""

from __future__ import annotations

import sys

from fincome_dev import import_gc
from fincome_dev.forkchild import exit_after
from fincome_dev.schema_checks import check_each_schema_once

#: Given first, the command ends with the interpreter's normal exit, as the ``airflow`` script
#: does: a local runtime's commands run as their own processes so (a SQLite database's last
#: connection folds its write-ahead log into the file), its components without it.
NORMAL_EXIT = "--normal-exit"


def argv(*args: str, normal_exit: bool = False) -> list[str]:
    """The argv running ``airflow <args>`` so, with this interpreter."""
    exit_flag = [NORMAL_EXIT] if normal_exit else []
    return [sys.executable, "-P", "-m", "fincome_dev.airflow_command", *exit_flag, *args]


def main() -> None:
    import_gc.pause()
    from airflow.__main__ import main as airflow_main

    check_each_schema_once()
    import_gc.keep_imported()

    args = sys.argv[1:]
    normal_exit = args[:1] == [NORMAL_EXIT]
    sys.argv = ["airflow", *args[normal_exit:]]
    if normal_exit:
        sys.exit(airflow_main())
    exit_after(airflow_main)


if __name__ == "__main__":
    main()
