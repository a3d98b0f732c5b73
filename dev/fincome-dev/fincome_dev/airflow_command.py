"""``python -P -m fincome_dev.airflow_command <args>``: ``airflow <args>`` (the ``airflow``
script's own ``main()``) ending without the interpreter's teardown, as the fork server's children
do (:func:`~fincome_dev.forkchild.exit_after`), each Param schema checked once
(:mod:`fincome_dev.schema_checks`).

A local runtime's components that cannot be forked run so
(:mod:`fincome_dev.airflow_env`): freeing Airflow's objects at exit costs about 2 s of CPU a
process, and an api-server told to stop took 8 to 16 s of wall to do it on a loaded machine
(its runtime's 15 s grace then ran out: it was killed).
"""

from __future__ import annotations

import sys

from fincome_dev.forkchild import exit_after
from fincome_dev.schema_checks import check_each_schema_once


def main() -> None:
    from airflow.__main__ import main as airflow_main

    check_each_schema_once()

    sys.argv = ["airflow", *sys.argv[1:]]
    exit_after(airflow_main)


if __name__ == "__main__":
    main()
