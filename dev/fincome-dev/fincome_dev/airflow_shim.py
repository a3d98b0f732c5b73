"""``airflow`` first on a shell's ``PATH``, run by a local runtime's fork server (tests only).

A test that runs a README recipe as written gives it to bash; the ``airflow`` its lines call is
this shim (:meth:`fincome_dev.airflow_env.AirflowRuntime.shell_env`), which asks the runtime's
fork server to run ``airflow <args>`` in a child: the ``airflow`` script's own ``main()``, with the
shell's environment (the shim's own variables and folder taken out), working directory and
exit status, its output copied to the shim's. A command whose Airflow settings are not the
server's (``AIRFLOW__*``...: :func:`~fincome_dev.airflow_forkserver.settings_of`) is the plain
``airflow`` script, exec'd in the shim's place.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from fincome_airflow.airflow_cli import airflow_argv
from fincome_dev import airflow_forkserver
from fincome_dev.airflow_forkserver import settings_of
from fincome_dev.forkserver import run_at

#: The server's socket, its settings (JSON) and the shim's folder, in the shell's environment.
SOCKET_ENV = "FINCOME_AIRFLOW_SHIM_SOCKET"
SETTINGS_ENV = "FINCOME_AIRFLOW_SHIM_SETTINGS"
FOLDER_ENV = "FINCOME_AIRFLOW_SHIM_FOLDER"


def install(folder: Path, socket_path: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """Write the ``airflow`` shim into ``folder``; return the variables a shell needs to use it
    (``PATH`` is the settings' own, the folder first)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "airflow"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -P -m {__spec__.name} "$@"\n')
    script.chmod(0o755)
    return {
        "PATH": os.pathsep.join([str(folder), settings.get("PATH", "")]),
        SOCKET_ENV: str(socket_path),
        SETTINGS_ENV: json.dumps(dict(settings)),
        FOLDER_ENV: str(folder),
    }


def command_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The shell's environment without the shim: its variables, its folder on ``PATH``."""
    env = {k: v for k, v in environ.items() if k not in (SOCKET_ENV, SETTINGS_ENV, FOLDER_ENV)}
    folder = environ.get(FOLDER_ENV)
    entries = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(entry for entry in entries if entry != folder)
    return env


def main(args: list[str]) -> int:
    env = command_env(os.environ)
    server_settings = json.loads(os.environ.get(SETTINGS_ENV, "null"))
    if SOCKET_ENV not in os.environ or settings_of(env) != server_settings:
        argv = airflow_argv(*args)
        os.execve(argv[0], argv, env)  # noqa: S606 - the plain script, in the shim's place
    signal.signal(signal.SIGTERM, _raise_exit)  # the child's tree is stopped, then the shim
    done = run_at(Path(os.environ[SOCKET_ENV]), args, env, Path.cwd(), name=airflow_forkserver.NAME)
    for output, stream in ((done.stdout, sys.stdout.buffer), (done.stderr, sys.stderr.buffer)):
        stream.write(output)
        stream.flush()
    # As a shell gives it: 128 + the signal that ended the child.
    return 128 - done.returncode if done.returncode < 0 else done.returncode


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
