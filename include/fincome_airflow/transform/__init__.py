"""Pure mapping of ERP rows to Fincome payloads (no I/O; "now" is passed in)."""
