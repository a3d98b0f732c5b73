"""The revisions of the state database, oldest first (``0001`` is the first release)."""
