"""Error hierarchy: user-facing errors carry a code and a safe message; internal ones do not leak."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error Langhouse raises on purpose."""

    code = "internal_error"
    status = 500


class UserError(AppError):
    """An error caused by the caller; its message is shown to them."""

    code = "invalid_input"
    status = 400


class InvalidInput(UserError):
    code = "invalid_input"
    status = 400


class Unauthorized(UserError):
    code = "unauthorized"
    status = 401


class Forbidden(UserError):
    code = "forbidden"
    status = 403


class NotFound(UserError):
    code = "not_found"
    status = 404


class Conflict(UserError):
    code = "conflict"
    status = 409


class PayloadTooLarge(UserError):
    """A request body (or what it inflates to) is over a configured limit."""

    code = "payload_too_large"
    status = 413


class Gone(UserError):
    """Something that existed is no longer usable (a used, revoked or expired link)."""

    code = "gone"
    status = 410


class TooManyRequests(UserError):
    """The caller must wait `retry_after_seconds` before trying again."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StoreUnavailable(UserError):
    """A datastore cannot be reached right now (restarting, or down); the caller should retry."""

    code = "store_unavailable"
    status = 503

    def __init__(self, store: str, retry_after_seconds: int = 2) -> None:
        super().__init__(f"{store} is unavailable right now; retry in a few seconds")
        self.store = store
        self.retry_after_seconds = retry_after_seconds


class QueryTooExpensive(UserError):
    code = "query_too_expensive"
    status = 422


class InternalError(AppError):
    """A failure inside Langhouse or a datastore; never shown verbatim to clients."""


class StorageError(InternalError):
    """A datastore call failed; the driver exception is chained, SQL is not in the message."""


class RowsRefused(StorageError):
    """An insert failed on its data (a value its column cannot hold), not on the store: the same rows
    fail again on every retry, the others of the insert can be written. `reason` is the engine's."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DataDirInUse(AppError):
    """Another Langhouse process owns the data directory."""

    code = "data_dir_in_use"
