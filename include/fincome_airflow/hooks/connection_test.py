"""What the connection form's *Test* button says: one plain sentence per way a test fails."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from fincome_airflow import contract

#: Words of a transport error that name its cause (checked in this order).
_CAUSES = (
    ("Name or service not known", "unknown host"),
    ("NameResolutionError", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("Connection refused", "connection refused"),
    ("timed out", "no answer in time"),
)


def _where(base_url: str) -> str:
    parts = urlsplit(base_url)
    return parts.netloc or base_url


def explain_failure(base_url: str, answer: requests.Response | BaseException) -> str:
    """A sentence naming what is wrong (the key, the URL or the network) and what to check."""
    example = contract.DEFAULT_BASE_URL
    if isinstance(answer, requests.Response):
        status = answer.status_code
        if status in (401, 403):
            return (
                f"Fincome refused the API key ({status}): check the connection's API key "
                "(its password field)."
            )
        if status in (404, 405):
            return (
                f"No Fincome API at {base_url} ({status} for GET /customers): check the "
                f"Base URL (host field), e.g. {example}."
            )
        return f"Fincome answered {status} {answer.reason} to GET {base_url}/customers."
    if isinstance(answer, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return f"The Base URL {base_url!r} is not a URL: write it as {example}."
    if isinstance(answer, requests.exceptions.InvalidSchema):
        return f"The Base URL {base_url!r} must start with https:// (or http://)."
    if isinstance(answer, requests.exceptions.Timeout):
        return f"{_where(base_url)} did not answer in time: check the Base URL and the network."
    if isinstance(answer, requests.exceptions.ConnectionError):
        text = str(answer)
        cause = next((name for words, name in _CAUSES if words in text), "no connection")
        return (
            f"Cannot reach {_where(base_url)} ({cause}): check the Base URL's host and port, "
            "and that this Airflow server can reach it."
        )
    return f"The test failed: {type(answer).__name__}."
