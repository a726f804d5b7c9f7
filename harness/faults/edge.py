"""Faults on one edge of the fleet, i.e. on the Toxiproxy proxy in front of the callee.

edge = EdgeFaults(client, "orders__payments")
with edge.latency(800, jitter=100):
    ...                       # orders' calls to payments are slow here
"""

from __future__ import annotations

from collections.abc import Callable

from harness.faults.base import ReversibleFault
from harness.faults.recovery import ProxyRecovery, RecoveryFailed, RecoveryStep
from harness.faults.toxics import (
    Bandwidth,
    Latency,
    LimitData,
    ResetPeer,
    Slicer,
    SlowClose,
    Stream,
    Timeout,
    Toxic,
)
from harness.faults.toxiproxy import ToxiproxyClient, edge_to_proxy_name


class _EdgeFault(ReversibleFault):
    """A fault on one proxy, reverted through a :class:`ProxyRecovery` (bounded retries,
    read back, re-create the proxy, restart the server), whose steps land in
    ``revert_steps``. Without a recovery of the fleet's, one of our own is made for the
    revert, knowing the proxy as it was read just before the injection."""

    def __init__(self, client: ToxiproxyClient, proxy: str, recovery: ProxyRecovery | None) -> None:
        super().__init__()
        self.client = client
        self.proxy = proxy
        self.recovery = recovery
        self.revert_steps: list[RecoveryStep] = []
        self._own: ProxyRecovery | None = None

    def _recovery(self) -> ProxyRecovery:
        if self.recovery is not None:
            return self.recovery
        if self._own is None:
            self._own = ProxyRecovery(self.client.api_url)
        return self._own

    def _remember(self) -> None:
        self._recovery().remember(self.proxy)

    def _restored(self, restore: Callable[[ProxyRecovery], list[RecoveryStep]]) -> None:
        try:
            self.revert_steps += restore(self._recovery())
        except RecoveryFailed as exc:
            self.revert_steps += exc.steps
            raise
        finally:
            if self._own is not None:
                self._own.close()
                self._own = None


class ToxicFault(_EdgeFault):
    """One toxic on one proxy: added by inject(), removed by revert()."""

    def __init__(
        self,
        client: ToxiproxyClient,
        proxy: str,
        toxic: Toxic,
        recovery: ProxyRecovery | None = None,
    ) -> None:
        super().__init__(client, proxy, recovery)
        self.toxic = toxic
        self.description = f"{toxic.describe()} on {proxy}"

    def _inject(self) -> None:
        self._remember()
        self.client.add_toxic(self.proxy, self.toxic)

    def _revert(self) -> None:
        # Already gone is fine (a reset(), the proxy re-created); a hang escalates.
        self._restored(lambda r: r.remove_toxic(self.proxy, self.toxic.name))

    def update(self, **attributes: int) -> None:
        """Change the live toxic's attributes (e.g. raise the latency mid-run)."""
        self.toxic = self.toxic.model_copy(update=attributes)
        if self.active:
            self.client.update_toxic(self.proxy, self.toxic.name, attributes=attributes)


class ProxyDown(_EdgeFault):
    """The callee unreachable: the proxy is disabled (clients get "connection refused")."""

    def __init__(
        self, client: ToxiproxyClient, proxy: str, recovery: ProxyRecovery | None = None
    ) -> None:
        super().__init__(client, proxy, recovery)
        self.description = f"{proxy} down (proxy disabled)"

    def _inject(self) -> None:
        self._remember()
        self.client.disable(self.proxy)

    def _revert(self) -> None:
        self._restored(lambda r: r.enable(self.proxy))


class EdgeFaults:
    """Fault factories for one proxy. Each returns an un-injected fault that injects when
    entered as a context manager (and reverts on exit, also on exceptions), or when its
    inject() is called."""

    def __init__(
        self, client: ToxiproxyClient, proxy_name: str, recovery: ProxyRecovery | None = None
    ) -> None:
        self.client = client
        self.proxy_name = proxy_name
        self.recovery = recovery

    @classmethod
    def for_edge(
        cls, client: ToxiproxyClient, edge: str, recovery: ProxyRecovery | None = None
    ) -> EdgeFaults:
        """For an edge written "caller->callee"."""
        return cls(client, edge_to_proxy_name(edge), recovery)

    def toxic(self, toxic: Toxic) -> ToxicFault:
        return ToxicFault(self.client, self.proxy_name, toxic, self.recovery)

    def latency(
        self,
        ms: int,
        jitter: int = 0,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(
            Latency(latency=ms, jitter=jitter, stream=stream, toxicity=toxicity, name=name or "")
        )

    def bandwidth(
        self,
        rate_kb: int,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(
            Bandwidth(rate=rate_kb, stream=stream, toxicity=toxicity, name=name or "")
        )

    def timeout(
        self,
        ms: int,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(Timeout(timeout=ms, stream=stream, toxicity=toxicity, name=name or ""))

    def reset_peer(
        self,
        ms: int = 0,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(ResetPeer(timeout=ms, stream=stream, toxicity=toxicity, name=name or ""))

    def slow_close(
        self,
        ms: int,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(SlowClose(delay=ms, stream=stream, toxicity=toxicity, name=name or ""))

    def slicer(
        self,
        average_size: int,
        size_variation: int = 0,
        delay_us: int = 0,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(
            Slicer(
                average_size=average_size,
                size_variation=size_variation,
                delay=delay_us,
                stream=stream,
                toxicity=toxicity,
                name=name or "",
            )
        )

    def limit_data(
        self,
        bytes: int,
        stream: Stream = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> ToxicFault:
        return self.toxic(LimitData(bytes=bytes, stream=stream, toxicity=toxicity, name=name or ""))

    def down(self) -> ProxyDown:
        return ProxyDown(self.client, self.proxy_name, self.recovery)
