"""One router per contract resource, plus the ``/_sandbox`` inspection router."""
