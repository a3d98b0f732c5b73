"""Staging: a month's records validated, hashed and written to the state database, ready to load."""
