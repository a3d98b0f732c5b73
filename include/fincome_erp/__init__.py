"""The reference ERP: schema (PostgreSQL and SQLite) and a deterministic demo-data generator."""
