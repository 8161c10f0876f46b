"""Request limits that keep one client from stalling the others: a body size limit and a body read deadline (an ASGI
middleware), and `until_disconnected` to cancel work whose client has gone. The header read timeout lives in
`protocols.py` (it has to be in the HTTP protocol: the app never sees a request whose head is not complete).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

from seaembed.serve.errors import APIError, error_response

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before its response was ready."""


class BodyLimitMiddleware:
    """Reads the whole request body before the app runs, with a size limit and a deadline.

    - `Content-Length` over the limit: 413 at once, without reading the body;
    - streamed bytes over the limit (chunked, or a lying Content-Length): 413 as soon as they pass it;
    - a body not complete within `read_timeout` seconds of the request head: 408 (slow or half-sent bodies);
    all with `Connection: close`, since the rest of the body is left unread. The app then gets the body in one message
    and later `receive()` calls go to the server (so `http.disconnect` still arrives). `limit_for(path)` gives the
    limit per path (small JSON endpoints take a smaller one)."""

    def __init__(self, app, limit_for: Callable[[str], int], read_timeout: float) -> None:
        self.app, self.limit_for, self.read_timeout = app, limit_for, read_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, 413, f"the request body has {int(declared)} bytes; the limit "
                                                          f"is {limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                await self._reject(scope, receive, send, 408, f"the request body was not received within "
                                                              f"{self.read_timeout:g} s", code="request_timeout")
                return
            if message["type"] == "http.disconnect":
                return  # the client left while sending: nobody to answer
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._reject(scope, receive, send, 413, f"the request body is over the limit of {limit} bytes")
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _reject(scope, receive, send, status: int, message: str, code: str | None = None) -> None:
        response = error_response(status, message, code=code or "request_too_large", headers={"Connection": "close"})
        await response(scope, receive, send)


async def until_disconnected(request: Request) -> None:
    """Return when the client of `request` disconnects (the body must have been read already). Under uvicorn and
    Starlette's test client, `receive()` after the body blocks until the client goes or the response is sent."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`; if the client disconnects first, cancel it and raise `ClientGone`. The engine drops a
    cancelled request's sequences between batches, so a client that left stops costing forward passes."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(until_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()  # takes effect at the task's next await: do not read its result
    if not task.done() or task.cancelled():
        raise ClientGone()
    return task.result()


def client_gone_error() -> APIError:
    """What a request whose client left answers (no one reads it; 499 as nginx logs it)."""
    return APIError(499, "the client closed the request", code="client_closed_request")
