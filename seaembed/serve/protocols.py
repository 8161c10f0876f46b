"""uvicorn HTTP protocols with a header read timeout.

uvicorn (0.54) arms its keep-alive timer only after a response, so a connection that sends part of a request head,
or nothing at all, is held forever (100 such connections were all still open after 90 s). uvicorn has no setting
for it, so these subclasses add one: a deadline of `header_timeout` seconds from the moment the server starts
waiting for a request head (connection open, or the first byte of the next request on a kept-alive connection) to
the end of that head; if it passes, the connection is closed. The deadline is not moved by each byte that arrives,
so a client dribbling one header byte a second is dropped too. The body has its own deadline
(`limits.BodyLimitMiddleware`).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class _HeaderDeadline:
    """Mixin: `_arm_head()` when a head is awaited, `_head_done()` when it is complete."""

    header_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:  # a pipelined head behind a running request: wait
            self._arm_head()
            return
        if not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self._head_done()
        super().connection_lost(exc)


class H11HeaderTimeoutProtocol(_HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with a header read timeout."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_head()

    def data_received(self, data: bytes) -> None:
        import h11

        super().data_received(data)
        if self.transport.is_closing():
            self._head_done()
        elif self.conn.their_state is h11.IDLE:  # bytes of a head arrived, the head is not complete
            self._arm_head()
        else:
            self._head_done()


if HttpToolsProtocol is not None:
    class HttpToolsHeaderTimeoutProtocol(_HeaderDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol with a header read timeout."""

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm_head()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_head()

        def on_headers_complete(self) -> None:
            self._head_done()
            super().on_headers_complete()
else:
    HttpToolsHeaderTimeoutProtocol = None  # type: ignore[assignment,misc]


def header_timeout_protocol(seconds: float, prefer: str = "auto") -> type[asyncio.Protocol]:
    """The protocol class to pass as `uvicorn.Config(http=...)`: httptools (uvicorn's default when installed) or
    h11, with a header read timeout of `seconds`."""
    base = HttpToolsHeaderTimeoutProtocol if prefer in ("auto", "httptools") else None
    if base is None:
        if prefer == "httptools":
            raise ValueError("httptools is not installed")
        base = H11HeaderTimeoutProtocol
    return type(base.__name__, (base,), {"header_timeout": float(seconds)})
