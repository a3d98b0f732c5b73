"""Keep the API key out of everything the hook logs, raises or returns."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

MASK = "***"


class Redactor:
    """Replace every known secret (and its URL- and JSON-escaped forms) in a text."""

    def __init__(self, *secrets: str | None) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
            forms.add(json.dumps(secret)[1:-1])
        # Longest first, so that a form containing another is replaced whole.
        self._forms = sorted((f for f in forms if f), key=len, reverse=True)

    def __call__(self, text: object) -> str:
        result = str(text)
        for form in self._forms:
            result = result.replace(form, MASK)
        return result


def register_with_airflow(secret: str | None) -> None:
    """Ask Airflow's log masker to hide ``secret`` in every task log line (when available)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDKs
        return
    mask_secret(secret)
