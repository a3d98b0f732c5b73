"""The sync-state database: staging, change ledger, per-run audit."""
