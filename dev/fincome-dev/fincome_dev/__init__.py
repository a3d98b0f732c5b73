"""Development tools of the Fincome project: demo, benchmark, reliability runner, local Airflow."""
