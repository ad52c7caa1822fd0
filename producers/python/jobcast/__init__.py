"""jobcast for Python workers: publish job events (``Publisher``) and mint job tokens
(``sign_job_token``). See producers/python/README.md and docs/protocol.md."""
from .errors import BusUnavailableError, InvalidEventError, JobcastError
from .publisher import DEFAULT_PREFIX, PublishOutcome, Publisher
from .token import MIN_SECRET_BYTES, sign_job_token

__all__ = [
    "BusUnavailableError",
    "DEFAULT_PREFIX",
    "InvalidEventError",
    "JobcastError",
    "MIN_SECRET_BYTES",
    "PublishOutcome",
    "Publisher",
    "sign_job_token",
]
