"""Validation of mapped records: the contract models, then the rules across records."""
