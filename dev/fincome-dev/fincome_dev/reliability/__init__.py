"""Reliability figures: the results the reliability tests write, and the table printed from them.

``python -m fincome_dev.reliability`` prints the table from the last results
(``--run`` runs ``pytest tests/reliability`` first; ``--results DIR`` reads another folder).
"""
