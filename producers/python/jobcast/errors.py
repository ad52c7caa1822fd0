"""Exceptions with the stable codes of docs/protocol.md."""
from __future__ import annotations

import re
from typing import Optional

_REPLY = re.compile(r"^(invalid_event|invalid_job_id): (\S+) ")


class JobcastError(Exception):
    """Base of every exception jobcast raises. ``code`` is a stable code such as
    ``invalid_event``, ``invalid_job_id``, ``bus_unavailable`` or ``internal``."""

    def __init__(self, code: str, message: str, job_id: Optional[str] = None) -> None:
        super().__init__(message if message.startswith("[jobcast] ") else f"[jobcast] {message}")
        self.code = code
        self.job_id = job_id


class InvalidEventError(JobcastError):
    """The publish script refused an event that breaks docs/protocol.md "Event".
    ``field`` names the field at fault (``event`` for the whole event)."""

    def __init__(self, code: str, field: str, message: str, job_id: Optional[str] = None) -> None:
        super().__init__(code, message, job_id)
        self.field = field

    @classmethod
    def from_reply(cls, reply: str, job_id: Optional[str]) -> Optional["InvalidEventError"]:
        """Reads a script error reply such as ``invalid_event: progress must be a number 0–100``."""
        match = _REPLY.match(reply)
        if match is None:
            return None
        job = "" if job_id is None else f" (job {job_id})"
        return cls(match.group(1), match.group(2), f'{reply}{job}; see docs/protocol.md "Event"', job_id)


class BusUnavailableError(JobcastError):
    """Redis stayed unreachable for the whole ``retry_for`` bound: the event was not published."""
