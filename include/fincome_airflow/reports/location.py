"""Where a run's CSV reports go: ``FINCOME_REPORTS_URL``, through Airflow's ObjectStoragePath.

The rows themselves (rejects, reconciliation differences) live in the state database; the CSV
files are exports for the finance team, written where every worker and the team can reach them:
``file:///shared/folder``, ``s3://<conn id>@bucket/prefix``, ``gs://<conn id>@bucket/prefix``...
(the scheme's provider installed, the connection id in the URL's user part as Airflow reads it).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from airflow.sdk import ObjectStoragePath

#: Where the reports go, e.g. ``s3://aws_reports@finance-bucket/fincome``.
ENV_REPORTS_URL: Final = "FINCOME_REPORTS_URL"
#: Earlier setting, still read when ``FINCOME_REPORTS_URL`` is unset: a local folder.
ENV_REPORTS_DIR: Final = "FINCOME_REPORTS_DIR"

#: The provider that registers each common scheme with Airflow (named in the error message).
PROVIDERS: Final = {
    "s3": "apache-airflow-providers-amazon[s3fs]",
    "gs": "apache-airflow-providers-google",
    "gcs": "apache-airflow-providers-google",
    "abfs": "apache-airflow-providers-microsoft-azure",
    "abfss": "apache-airflow-providers-microsoft-azure",
    "wasb": "apache-airflow-providers-microsoft-azure",
    "adl": "apache-airflow-providers-microsoft-azure",
    "sftp": "apache-airflow-providers-sftp",
    "hdfs": "apache-airflow-providers-apache-hdfs",
    "webhdfs": "apache-airflow-providers-apache-hdfs",
}
_LOCAL: Final = ("file", "local")


class ReportsLocationError(ValueError):
    """``FINCOME_REPORTS_URL`` cannot be used: unknown scheme or no provider installed for it."""


class ReportsUnwritable(ReportsLocationError):
    """The reports location is known but cannot be written now (permissions, storage down)."""


def reports_url() -> str:
    """The configured reports URL: ``FINCOME_REPORTS_URL``, else ``FINCOME_REPORTS_DIR`` as a
    local folder, else ``$AIRFLOW_HOME/fincome_reports``; a plain path becomes ``file://``."""
    value = (os.environ.get(ENV_REPORTS_URL) or os.environ.get(ENV_REPORTS_DIR) or "").strip()
    if not value:
        home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
        value = str(home / "fincome_reports")
    return as_url(value)


def as_url(value: str) -> str:
    """``value`` if it is a URL, else the ``file://`` URL of the local path it names."""
    if "://" in value:
        return value
    return Path(value).expanduser().resolve().as_uri()


def shown(url: str) -> str:
    """The URL as messages show it: the user part (a connection id, or worse) left out."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host).geturl()


def where(url: str) -> str:
    """The location as messages name it: the setting it came from and the URL, user part left
    out."""
    for name in (ENV_REPORTS_URL, ENV_REPORTS_DIR):
        if os.environ.get(name, "").strip():
            return f"{name} ({shown(url)})"
    return f"the default reports location {shown(url)}"


def reports_root(url: str | None = None) -> ObjectStoragePath:
    """The reports location as a path (a local folder is created if missing).

    :raise ReportsLocationError: the scheme is unknown or no installed provider serves it.
    :raise ReportsUnwritable: the local folder cannot be created.
    """
    url = as_url(url) if url else reports_url()
    scheme = urlsplit(url).scheme
    hint = f"; install {PROVIDERS[scheme]}" if scheme in PROVIDERS else ""
    try:
        root = ObjectStoragePath(url)
        root.fs  # noqa: B018 - Airflow's registry of filesystems answers for the scheme here
    except (ValueError, ImportError) as err:
        raise ReportsLocationError(
            f"{where(url)}: no filesystem for the scheme {scheme!r} ({err}){hint}"
        ) from err
    if root.protocol in _LOCAL:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ReportsUnwritable(
                f"{where(url)}: cannot create the folder ({err.strerror})"
            ) from err
    return root


def file_safe(text: str) -> str:
    """``text`` fit for a file name: anything but letters, digits and ``._-`` becomes ``_``."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def report_path(run_key: str, kind: str) -> ObjectStoragePath:
    """A file name a finance person can find: ``<dag>_<run id>_<kind>.csv``."""
    return reports_root() / f"{file_safe(run_key)}_{kind}.csv"


def check_reports_location(url: str | None = None) -> str:
    """Write and remove a probe file at the reports location; return the URL as shown.

    :raise ReportsLocationError: the location is misconfigured.
    :raise ReportsUnwritable: it cannot be written.
    """
    url = as_url(url) if url else reports_url()
    root = reports_root(url)
    probe = root / f".fincome-write-check-{uuid.uuid4().hex}"
    try:
        with probe.open("w", encoding="utf-8") as handle:
            handle.write("fincome reports write check\n")
        probe.unlink()
    except Exception as err:  # each filesystem raises its own errors (OSError, botocore...)
        raise ReportsUnwritable(
            f"{where(url)}: cannot write there "
            f"({type(err).__name__}: {getattr(err, 'strerror', None) or err})"
        ) from err
    return shown(url)
