"""What can go wrong, without a status: each protocol maps these to its own status and body.

A request-time error carries `detail`, one sentence the caller can act on. The kinds are the
protocol-neutral reasons a request fails; how an H2O client, a V2 client or a gRPC client hears
about one is decided in one place per protocol.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The server's configuration cannot work; the message is one sentence for the operator."""


class ModelLoadError(Exception):
    """The artifact cannot be served; the message is one sentence a user can act on."""


class InputError(Exception):
    """A runtime found input it cannot score (a client error), e.g. undecodable media."""


class RequestError(Exception):
    """A request that cannot be answered; `detail` is one sentence the caller can act on."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(RequestError):
    """The request is malformed or does not fit the model."""


class _AtRow:
    """An error about one row of a batch: `row` is its zero-based index in the batch, and the
    sentence is `before` + the row + `after`, so a batch job that scored a file in pieces can
    name the record's place in the whole file (`at`)."""

    row: int
    before: str
    after: str

    def at(self, row: int) -> str:
        return f"{self.before}{row}{self.after}"


class BadCell(_AtRow, InvalidInput):
    """One cell (or record) of a batch cannot be read."""

    def __init__(self, row: int, before: str, after: str) -> None:
        self.row, self.before, self.after = row, before, after
        super().__init__(self.at(row))


class UnsupportedContent(RequestError):
    """The body is in an encoding this endpoint does not read."""


class Unauthenticated(RequestError):
    """Authentication is configured and the request carries no valid credential."""


class NotFound(RequestError):
    """What the request names does not exist (or is switched off)."""


class TooLarge(RequestError):
    """The request is over a configured size limit (bytes, rows, files)."""


class SlowClient(RequestError):
    """The client sent its request too slowly; the connection is closed."""


class ModelFailed(RequestError):
    """The model itself failed on valid input."""


class OutputRejected(_AtRow, ModelFailed):
    """The model answered a record with output its own output schema refuses."""

    def __init__(self, row: int, before: str, after: str) -> None:
        self.row, self.before, self.after = row, before, after
        super().__init__(self.at(row))


class NotReady(RequestError):
    """The model is not loaded (yet), or not usable."""


class Overloaded(RequestError):
    """The server is too busy or too slow for this request now; retrying later may succeed."""
