"""Reconciliation: compare what Fincome holds with what the ERP month calls for."""
