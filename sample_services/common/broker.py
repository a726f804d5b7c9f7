"""Redis Streams, typed: what the outbox relay publishes to and event consumers read from.

redis-py's sync methods are annotated as "value or awaitable"; this wrapper pins the sync
shapes once so the services stay readable and mypy-strict. Every call is bounded by the
socket timeouts, and connection errors surface as `redis.RedisError` for the caller's own
retry loop (the relay and consumers back off and keep going; they never die of an outage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


@dataclass(frozen=True)
class StreamMessage:
    """One stream entry. `fields` is None for an entry deleted while it was pending."""

    message_id: str
    fields: dict[str, str] | None


class Streams:
    """One broker connection pool; thread-safe like the redis client it wraps."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        # One immediate retry heals a pooled connection the broker dropped (restart, cut);
        # anything longer is the caller's backoff loop, so stop() is never held up here.
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self.timeout = timeout

    def close(self) -> None:
        self.client.close()

    def ping(self) -> None:
        if not self.client.ping():
            raise redis.ConnectionError("broker did not answer PING")

    def publish(self, stream: str, entries: Sequence[Mapping[str, str]]) -> list[str]:
        """XADD every entry in order, in one round trip; returns the stream ids."""
        if not entries:
            return []
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            fields: dict[Any, Any] = dict(entry)
            pipe.xadd(stream, fields)
        return [str(message_id) for message_id in pipe.execute()]

    def ensure_group(self, stream: str, group: str, start_id: str = "0") -> None:
        """Create the consumer group (and the stream) unless it exists.

        Starting at "0" rather than "$" means events published before the group existed
        are still delivered: the relay may well run before the first consumer.
        """
        try:
            self.client.xgroup_create(stream, group, id=start_id, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_group(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        start: str = ">",
        count: int = 100,
        block_ms: int | None = None,
    ) -> list[StreamMessage]:
        """XREADGROUP: ">" for new entries, "0" for this consumer's own pending ones."""
        reply = cast(
            "list[Any] | None",
            self.client.xreadgroup(group, consumer, {stream: start}, count=count, block=block_ms),
        )
        messages: list[StreamMessage] = []
        for _stream, entries in reply or []:
            messages.extend(_messages(entries))
        return messages

    def ack(self, stream: str, group: str, *message_ids: str) -> int:
        if not message_ids:
            return 0
        return int(self.client.xack(stream, group, *message_ids))

    def autoclaim(
        self,
        stream: str,
        group: str,
        consumer: str,
        *,
        min_idle_ms: int,
        start: str = "0-0",
        count: int = 100,
    ) -> tuple[str, list[StreamMessage]]:
        """XAUTOCLAIM entries pending longer than `min_idle_ms`; returns (next cursor, entries)."""
        reply = self.client.xautoclaim(
            stream, group, consumer, min_idle_ms, start_id=start, count=count
        )
        cursor = str(reply[0])
        return cursor, _messages(reply[1])

    def length(self, stream: str) -> int:
        return int(self.client.xlen(stream))

    def entries(self, stream: str) -> list[StreamMessage]:
        """Every entry of a stream (operators and tests; not for hot paths)."""
        return _messages(cast("list[Any]", self.client.xrange(stream)))


def _messages(entries: Sequence[Any]) -> list[StreamMessage]:
    out: list[StreamMessage] = []
    for entry in entries:
        if entry is None:
            continue
        message_id, fields = entry
        out.append(
            StreamMessage(
                str(message_id),
                None if fields is None else {str(k): str(v) for k, v in fields.items()},
            )
        )
    return out
