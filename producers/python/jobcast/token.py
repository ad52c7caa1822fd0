"""Job tokens (HS256 JWTs) with the claims of the Node ``signJobToken``. See docs/security.md."""
from __future__ import annotations

import math
import re
import time
from typing import Optional, Sequence, Union

import jwt

from .errors import JobcastError

#: Shortest HS256 secret the gateway accepts, in bytes.
MIN_SECRET_BYTES = 32

_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}\Z")
_SPAN = re.compile(r"(\d+)\s*([smhd])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _is_job_pattern(entry: object) -> bool:
    """Same grammar as the gateway's ``jobs`` claim (docs/security.md, "The jobs claim")."""
    if not isinstance(entry, str):
        return False
    if entry.endswith(":*"):
        prefix = entry[:-1]
        return 2 <= len(prefix) < 128 and _ID.match(prefix) is not None
    return _ID.match(entry) is not None


def _lifetime(expires_in: Union[int, str]) -> Optional[int]:
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, int):
        return expires_in if expires_in > 0 else None
    match = _SPAN.match(expires_in.strip())
    if match is None:
        return None
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return seconds if seconds > 0 else None


def sign_job_token(
    jobs: Sequence[str],
    expires_in: Union[int, str],
    secret: Union[str, bytes],
    *,
    sub: Optional[str] = None,
    aud: Optional[Union[str, Sequence[str]]] = None,
    iss: Optional[str] = None,
    not_before_in: Optional[float] = None,
    kid: Optional[str] = None,
    now: Optional[int] = None,
) -> str:
    """Signs a job token for the gateway's ``--secret``.

    :param jobs: job ids and/or prefix patterns such as ``user-42:*``
    :param expires_in: lifetime: seconds, or a span such as ``'90s'``, ``'15m'``, ``'2h'``, ``'1d'``
    :param secret: the gateway's secret (JOBCAST_SECRET), at least 32 bytes
    :param sub: ``sub`` claim, e.g. the user id
    :param aud: ``aud`` claim; must match the gateway's ``--audience`` when set
    :param iss: ``iss`` claim; must match the gateway's ``--issuer`` when set
    :param not_before_in: seconds from now before which the token is not valid (``nbf``)
    :param kid: key id header
    :param now: the clock, in seconds since the epoch (default ``time.time()``)

    Example: ``sign_job_token([job_id], "15m", os.environ["JOBCAST_SECRET"])``
    """
    if len(jobs) == 0:
        raise JobcastError("invalid_config", "sign_job_token: jobs is empty; list the jobs the token grants")
    for entry in jobs:
        if not _is_job_pattern(entry):
            raise JobcastError(
                "invalid_config",
                f'sign_job_token: "{entry}" is neither a job id nor a prefix pattern like "user-42:*"; list the jobs the token grants',
            )
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(key) < MIN_SECRET_BYTES:
        raise JobcastError(
            "invalid_config",
            f'sign_job_token: the secret is {len(key)} bytes, HS256 needs at least {MIN_SECRET_BYTES}: generate one with "openssl rand -base64 48"',
        )
    lifetime = _lifetime(expires_in)
    if lifetime is None:
        raise JobcastError("invalid_config", 'sign_job_token: expires_in must be a positive number of seconds or a span like "15m", "2h", "1d"')
    issued = int(time.time()) if now is None else now
    claims: dict = {"jobs": list(jobs), "iat": issued, "exp": issued + lifetime}
    if not_before_in is not None:
        claims["nbf"] = issued + math.ceil(not_before_in)
    for name, value in (("sub", sub), ("aud", aud), ("iss", iss)):
        if value is not None:
            claims[name] = value if isinstance(value, str) else list(value)
    return jwt.encode(claims, key, algorithm="HS256", headers=None if kid is None else {"kid": kid})
