"""An MLflow model answered by MLflow's own scoring code, on its own pyfunc: the answer is by
construction what `mlflow models serve` gives for the same request (its parsing of every input
form, schema enforcement, `predict`, and its JSON encoding of DataFrames, arrays and lists)."""

from __future__ import annotations

from typing import Any

from scoring_runtime.core.errors import InvalidInput, ModelFailed, RequestError, UnsupportedContent


def is_pyfunc(model: Any) -> bool:
    return type(model).__name__ == "PyFuncModel" and type(model).__module__.startswith("mlflow")


def answer(pyfunc: Any, body: bytes, content_type: str) -> bytes:
    """MLflow's answer to this request, or the RequestError its refusal means (its message's first
    line: MLflow puts the offending data and a stack trace after it)."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    try:
        result = scoring_server.invocations(
            body, content_type or "application/json", pyfunc, pyfunc.metadata.get_input_schema()
        )
    except MlflowException as exc:
        raise _refusal(exc.get_http_status_code(), exc.message) from None
    if result.status != 200:
        raise _refusal(result.status, result.response)
    return result.response.encode()


def _refusal(status: int, message: str) -> RequestError:
    sentence = message.strip().splitlines()[0] if message.strip() else "MLflow refused the request."
    if status == 415:
        return UnsupportedContent(sentence)
    if 400 <= status < 500:
        return InvalidInput(sentence)
    return ModelFailed(f"The model failed to score this request ({sentence[:200]}).")
