"""The benchmark command (``python -m fincome_dev.bench``, ``make bench``).

It builds the reference ERP at the asked size on PostgreSQL, starts the sandbox, runs each stage
as its own process (as an Airflow task would run), and prints one table of figures, each beside
a baseline measured in the same run. See the README's "Performance" section. The smoke pass
(``--smoke``, the tests') forks its stage processes from one server instead (:mod:`.forks`).
"""
