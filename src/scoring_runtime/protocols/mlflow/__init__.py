"""MLflow's scoring protocol (`mlflow models serve`): `POST /invocations`, `/ping`, `/health`, `/version`."""
