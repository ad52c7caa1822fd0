"""The Python producer: publishes job events through jobcast's publish script, the one file
packages/gateway/lua/publish.lua that the Node package and the PHP producer read too."""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import redis
import redis.cluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import BusUnavailableError, InvalidEventError, JobcastError

#: Key and channel prefix used when none is given; must match the gateway's ``--prefix``.
DEFAULT_PREFIX = "jobcast:"

#: Where the scripts live in the repository: producers/python/jobcast → packages/gateway/lua.
DEFAULT_LUA_DIR = Path(__file__).resolve().parents[3] / "packages" / "gateway" / "lua"

ErrorInput = Union[str, Mapping[str, Any], BaseException]


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish did. ``published`` False means the job already had a terminal event:
    ``reason`` is ``"terminal"`` and ``event`` is that stored event; nothing was written."""

    published: bool
    #: The stored event with its ``seq`` (the new one, or the terminal one kept).
    event: Dict[str, Any]
    reason: Optional[str] = None


class _Script:
    def __init__(self, path: Path) -> None:
        try:
            self.source = path.read_text(encoding="utf-8")
        except OSError as error:
            raise JobcastError(
                "invalid_config", f"cannot read {path}: pass lua_dir= the folder holding jobcast's publish.lua and restore.lua"
            ) from error
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Publisher:
    """Publishes job events from Python.

    Calls are synchronous. During a Redis outage a call waits, retrying with backoff, and
    publishes once Redis is back, so a worker's events stay in order; after ``retry_for``
    seconds it raises :class:`BusUnavailableError`. After an outage it first puts back the
    last event of every job it published within ``remember_for`` seconds (restore.lua: only
    where Redis lost it, never over a newer or terminal state), so final states survive a
    Redis restart without persistence. An event after a terminal one is refused
    (``published`` False), not raised.

    Example::

        jobs = Publisher(redis.Redis.from_url(os.environ["JOBCAST_REDIS_URL"]))
        jobs.progress("export-42", 40, message="Exported 400 of 1000 rows", data={"processed": 400})
        jobs.complete("export-42", {"downloadUrl": "/files/export-42.csv"})
    """

    def __init__(
        self,
        client: "Union[redis.Redis[Any], redis.cluster.RedisCluster]",
        prefix: str = DEFAULT_PREFIX,
        *,
        ttl_seconds: int = 86400,
        retry_for: float = 60.0,
        max_event_bytes: int = 65536,
        remember_for: float = 3600.0,
        max_remembered: int = 10000,
        lua_dir: Optional[Union[str, Path]] = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        :param client: a redis-py client; it reconnects by itself after an outage. For Redis
            Cluster a ``redis.cluster.RedisCluster``; behind Sentinel
            ``redis.sentinel.Sentinel(...).master_for(name)``, which follows failovers
        :param prefix: key and channel prefix; must match the gateway's
        :param ttl_seconds: snapshot time to live, in seconds
        :param retry_for: seconds a call waits for Redis during an outage before it raises
        :param max_event_bytes: largest event in bytes, as the gateway's ``maxMessageBytes``
        :param remember_for: seconds the last event of each job is kept to restore it
        :param max_remembered: most jobs remembered; the oldest is forgotten first
        :param lua_dir: folder of publish.lua and restore.lua (default: the repository's packages/gateway/lua)
        :param sleep: waits between retries, in seconds (tests pass their own)
        :param clock: monotonic seconds, for ``retry_for`` and ``remember_for``
        """
        for name, value in (("ttl_seconds", ttl_seconds), ("max_event_bytes", max_event_bytes), ("max_remembered", max_remembered)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise JobcastError("invalid_config", f"{name} must be a positive whole number, got {value!r}")
        for name, number in (("retry_for", retry_for), ("remember_for", remember_for)):
            if not isinstance(number, (int, float)) or isinstance(number, bool) or not number > 0:
                raise JobcastError("invalid_config", f"{name} must be a positive number of seconds, got {number!r}")
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._retry_for = float(retry_for)
        self._max_bytes = max_event_bytes
        self._remember_for = float(remember_for)
        self._max_remembered = max_remembered
        folder = Path(lua_dir) if lua_dir is not None else DEFAULT_LUA_DIR
        self._scripts = {name: _Script(folder / f"{name}.lua") for name in ("publish", "restore")}
        self._sleep = sleep
        self._clock = clock
        #: job id -> (stored event JSON, when published), oldest first
        self._remembered: "OrderedDict[str, Tuple[str, float]]" = OrderedDict()
        self._restore_pending = False

    def queued(self, id: str, *, message: Optional[str] = None, data: Optional[Mapping[str, Any]] = None, ts: Optional[float] = None) -> PublishOutcome:
        """The job waits to run. ``ts`` in ms since the epoch (default now)."""
        return self.publish(self._event(id, "queued", message=message, data=data, ts=ts))

    def active(
        self,
        id: str,
        *,
        progress: Optional[float] = None,
        message: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
        ts: Optional[float] = None,
    ) -> PublishOutcome:
        """The job runs."""
        return self.publish(self._event(id, "active", progress=progress, message=message, data=data, ts=ts))

    def progress(self, id: str, percent: float, *, message: Optional[str] = None, data: Optional[Mapping[str, Any]] = None, ts: Optional[float] = None) -> PublishOutcome:
        """The job runs and is ``percent`` (0–100) done."""
        return self.publish(self._event(id, "active", progress=percent, message=message, data=data, ts=ts))

    def complete(
        self,
        id: str,
        result: Optional[Mapping[str, Any]] = None,
        *,
        progress: float = 100,
        message: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
        ts: Optional[float] = None,
    ) -> PublishOutcome:
        """The job succeeded (terminal), e.g. ``complete(id, {"downloadUrl": url})``."""
        return self.publish(self._event(id, "completed", progress=progress, message=message, data=data, result=result, ts=ts))

    def fail(
        self,
        id: str,
        error: ErrorInput,
        *,
        progress: Optional[float] = None,
        message: Optional[str] = None,
        data: Optional[Mapping[str, Any]] = None,
        ts: Optional[float] = None,
    ) -> PublishOutcome:
        """The job failed (terminal). ``error``: a message, ``{"message", "code"?}``, or an
        exception (its text, and its ``code`` attribute when that is a string)."""
        if isinstance(error, str):
            shaped: Any = {"message": error}
        elif isinstance(error, BaseException):
            code = getattr(error, "code", None)
            shaped = {"message": str(error), **({"code": code} if isinstance(code, str) else {})}
        else:
            shaped = dict(error)
        return self.publish(self._event(id, "failed", progress=progress, message=message, data=data, error=shaped, ts=ts))

    def cancel(self, id: str, *, message: Optional[str] = None, data: Optional[Mapping[str, Any]] = None, ts: Optional[float] = None) -> PublishOutcome:
        """The job was cancelled (terminal)."""
        return self.publish(self._event(id, "cancelled", message=message, data=data, ts=ts))

    def publish(self, event: Mapping[str, Any]) -> PublishOutcome:
        """Publishes any event (docs/protocol.md, "Event"); ``ts`` defaults to now.

        :raises InvalidEventError: the publish script refused the event (``field`` says which)
        :raises BusUnavailableError: Redis stayed unreachable for ``retry_for`` seconds
        """
        job_id = event.get("id") if isinstance(event, Mapping) else None
        job = job_id if isinstance(job_id, str) else None
        body = dict(event) if isinstance(event, Mapping) else event
        if isinstance(body, dict) and "ts" not in body:
            body["ts"] = int(time.time() * 1000)
        try:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidEventError("invalid_event", "event", f"invalid_event: event cannot be encoded as JSON: {error}", job) from error
        reply = self._call("publish", self._key(job or ""), [text, self._ttl, self._max_bytes], job)
        if not isinstance(reply, list) or len(reply) != 2:
            raise JobcastError("internal", f"unexpected reply from the publish script for job {job}: is another script loaded under its SHA?", job)
        stored_text = _text(reply[1])
        stored = json.loads(stored_text)
        self._remember(job or "", stored_text)
        if int(reply[0]) == 1:
            return PublishOutcome(True, stored)
        return PublishOutcome(False, stored, "terminal")

    def remembered_jobs(self) -> List[str]:
        """Job ids whose last event this publisher would restore after an outage."""
        self._forget_expired()
        return list(self._remembered)

    @staticmethod
    def _event(id: str, status: str, **fields: Any) -> Dict[str, Any]:
        event: Dict[str, Any] = {"id": id, "status": status}
        event.update((name, value) for name, value in fields.items() if value is not None)
        return event

    def _key(self, id: str) -> str:
        return f"{self._prefix}job:{{{id}}}"

    def _remember(self, id: str, text: str) -> None:
        self._remembered.pop(id, None)
        self._remembered[id] = (text, self._clock())
        while len(self._remembered) > self._max_remembered:
            self._remembered.popitem(last=False)

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._remembered:
            oldest = next(iter(self._remembered.values()))
            if now - oldest[1] <= self._remember_for:
                break
            self._remembered.popitem(last=False)

    def _call(self, name: str, key: str, args: List[Any], job: Optional[str]) -> Any:
        """Runs a script, waiting out an outage within ``retry_for``; restores remembered events
        first after one. A publish whose reply was lost is sent again as the same text, which
        the script answers with its first outcome."""
        failing_since: Optional[float] = None
        delay = 0.05
        while True:
            try:
                if self._restore_pending:
                    self._restore_remembered()
                return self._eval(name, key, args)
            except (RedisConnectionError, RedisTimeoutError) as error:
                self._restore_pending = True
                now = self._clock()
                failing_since = now if failing_since is None else failing_since
                left = self._retry_for - (now - failing_since)
                if left <= 0:
                    raise BusUnavailableError(
                        "bus_unavailable",
                        f"Redis stayed unreachable for {self._retry_for:g} s (retry_for): the event of job {job} was not "
                        f"published; check that Redis runs, or raise retry_for ({error})",
                        job,
                    ) from error
                self._sleep(min(delay, left))
                delay = min(delay * 2, 1.0)
            except ResponseError as error:
                invalid = InvalidEventError.from_reply(str(error), job)
                if invalid is not None:
                    raise invalid from error
                raise JobcastError("internal", f"Redis refused the jobcast script for job {job}: {error}", job) from error

    def _eval(self, name: str, key: str, args: List[Any]) -> Any:
        script = self._scripts[name]
        try:
            return self._redis.evalsha(script.sha, 1, key, *args)
        except NoScriptError:
            return self._redis.eval(script.source, 1, key, *args)

    def _restore_remembered(self) -> None:
        self._forget_expired()
        for id, (text, _) in list(self._remembered.items()):
            self._eval("restore", self._key(id), [text, self._ttl])
        self._restore_pending = False
