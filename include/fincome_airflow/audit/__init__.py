"""Audit: what a run extracted, sent and refused, counted per resource and added up."""
