"""The endpoint's HTTP side: uvicorn (httptools) in a thread of its own; the App ID authentication path answered by
a bare ASGI handler (the hot path: no routing, no request objects), every other path by a Starlette application.

Routes: the App ID authentication path (judged), the follow-up token calls a client makes next
(validate, refresh, log out; answered, not judged), anything else a JSON 404 listing what is
served; a call to any other path that carries a token this endpoint issued (X-Access-Token) is
answered 200 `{}`, so a client's first real call after logging in completes. Limits: a body over BODY_LIMIT is 413, a body that does not arrive within BODY_TIMEOUT
is 408 (its connection closed, other clients unaffected), a request head over HEAD_LIMIT is 431,
a request the HTTP parser refuses is 400: every one a JSON error, none a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from appauth_conformance.core import untrusted
from appauth_conformance.endpoint.judging import BODY_TIMEOUT, PATH, Endpoint, token_answer

BODY_LIMIT = 64 * 1024
HEAD_LIMIT = 16 * 1024
VALIDATE, TOKEN = "/v1/usg/acs/token/validate", "/v1/usg/acs/token"  # the reference's paths (meeting_21_0307..0309)
JUDGED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})  # the others: 405, not judged
SERVED = {
    PATH: "POST: App ID authentication (judged)",
    VALIDATE: 'POST {"token": ..., "needGenNewToken": false}: verify a token this endpoint issued',
    TOKEN: "PUT with X-Access-Token: update (refresh) a token; DELETE with X-Access-Token: log out",
}


def _error(status: int, code: str, msg: str, **more: Any) -> JSONResponse:
    return JSONResponse({"error_code": code, "error_msg": msg, **more}, status_code=status)


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int, timeout: float) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (untrusted.decimal(length) or 0) > limit:
        raise _TooLarge
    out = bytearray()

    async def read() -> None:
        async for chunk in request.stream():
            out.extend(chunk)
            if len(out) > limit:
                raise _TooLarge

    await asyncio.wait_for(read(), timeout)
    return bytes(out)


def application(endpoint: Endpoint, body_timeout: float = BODY_TIMEOUT) -> Any:
    async def validate(request: Request) -> JSONResponse:
        try:
            doc = json.loads(await _body(request, BODY_LIMIT, body_timeout))
        except (ValueError, _TooLarge, TimeoutError):
            return _error(400, "USG.000000400", 'the body must be JSON: {"token": "<accessToken>"}')
        token = doc.get("token") if isinstance(doc, dict) else None
        found = endpoint.issued.get(token) if isinstance(token, str) else None
        if found is None:
            return _error(401, "USG.000000401", "token unknown, logged out or not issued by this endpoint")
        if doc.get("needGenNewToken") is True:  # the reference: a new token is generated and returned
            found = token_answer(found["user"], found["clientType"])
            endpoint.issue(found["accessToken"], found)
        return JSONResponse(found)

    async def refresh(request: Request) -> JSONResponse:
        old = request.headers.get("x-access-token", "")
        with endpoint.lock:
            found = endpoint.issued.pop(old, None)
        if found is not None:
            found = token_answer(found["user"], found["clientType"])  # a new token, its times anew
            endpoint.issue(found["accessToken"], found)
        if found is None:
            return _error(401, "USG.000000401", "X-Access-Token unknown, logged out or not issued by this endpoint")
        return JSONResponse(found)

    async def logout(request: Request) -> JSONResponse:
        with endpoint.lock:
            found = endpoint.issued.pop(request.headers.get("x-access-token", ""), None)
        if found is None:
            return _error(401, "USG.000000401", "X-Access-Token unknown, logged out or not issued by this endpoint")
        return JSONResponse({})

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        if request.headers.get("x-access-token", "") in endpoint.issued:  # a client's call with its token
            return JSONResponse({})
        return _error(
            404, "USG.000000404", f"nothing is served at {request.method} {request.url.path[:200]}", served=SERVED
        )

    async def not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return _error(
            405, "USG.000000405", f"{request.method} is not served at {request.url.path[:200]}", served=SERVED
        )

    async def failed(request: Request, exc: Exception) -> JSONResponse:
        logging.getLogger("appauth_conformance.endpoint").error(
            "internal error on %s: %s", request.url.path[:200], type(exc).__name__
        )
        return _error(500, "USG.000000500", "internal error of the endpoint (a bug: please report it)")

    app = Starlette(
        routes=[
            Route(VALIDATE, validate, methods=["POST"]),
            Route(TOKEN, refresh, methods=["PUT"]),
            Route(TOKEN, logout, methods=["DELETE"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed, 500: failed},
    )
    return _App(endpoint, body_timeout, app)


class _Refused(Exception):
    def __init__(self, status: int, msg: str):
        super().__init__(msg)
        self.status, self.msg = status, msg


def _error_doc(status: int, msg: str) -> dict[str, str]:
    return {"error_code": f"USG.000000{status}", "error_msg": msg}


def _json(doc: Any) -> bytes:
    """As Starlette's JSONResponse renders (the answers of both paths alike)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")


async def _respond(send: Any, status: int, doc: Any) -> None:
    body = _json(doc)
    headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _receive_body(scope: Any, receive: Any) -> bytes:
    for k, v in scope["headers"]:
        if k == b"content-length" and (untrusted.decimal(v) or 0) > BODY_LIMIT:
            raise _Refused(413, f"request body over {BODY_LIMIT} bytes")
    out = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "the client went away before its body arrived")
        out += message.get("body", b"")
        if len(out) > BODY_LIMIT:
            raise _Refused(413, f"request body over {BODY_LIMIT} bytes")
        if not message.get("more_body", False):
            return bytes(out)


class _App:
    """The ASGI application: 431 for a request whose header lines add up to more than HEAD_LIMIT (the protocol
    below limits only a head that has not fully arrived yet), the authentication path judged here, every other
    path to Starlette (`rest`)."""

    def __init__(self, endpoint: Endpoint, body_timeout: float, rest: Any):
        self.endpoint, self.body_timeout, self.rest = endpoint, body_timeout, rest

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.rest(scope, receive, send)
        elif sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > HEAD_LIMIT:
            await _respond(send, 431, _error_doc(431, f"request head over {HEAD_LIMIT} bytes"))
        elif scope["path"] == PATH and scope["method"] in JUDGED_METHODS:
            await self.appauth(scope, receive, send)
        elif scope["path"] == PATH:
            msg = f"{scope['method']} is not served at {PATH}"
            await _respond(send, 405, {**_error_doc(405, msg), "served": SERVED})
        else:
            await self.rest(scope, receive, send)

    async def appauth(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            try:
                body = await asyncio.wait_for(_receive_body(scope, receive), self.body_timeout)
            except TimeoutError:
                raise _Refused(408, f"request body not received within {self.body_timeout:g} s") from None
            client = scope.get("client")
            peer = f"{client[0]}:{client[1]}" if client else ""
            raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            answer = self.endpoint.handle(scope["method"], raw, body, peer)
        except _Refused as e:
            await _respond(send, e.status, _error_doc(e.status, e.msg))
            return
        except Exception as e:  # a bug: logged without the request, answered 500, the server keeps serving
            logging.getLogger("appauth_conformance.endpoint").error("internal error on %s: %s", PATH, type(e).__name__)
            await _respond(send, 500, _error_doc(500, "internal error of the endpoint (a bug: please report it)"))
            return
        await _respond(send, answer.status, answer.body)


class JsonErrorsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its answer to an unparsable request in JSON, a request head that grows
    past HEAD_LIMIT before it is complete refused with a 431, and a connection whose first request head has not
    arrived within `head_timeout` closed with a 408."""

    head_timeout = BODY_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.in_head, self.head_bytes, self.ended_here = False, 0, False
        self.head_timer = self.loop.call_later(self.head_timeout, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_timer.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.ended_here = True
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        self.ended_here = False
        super().data_received(data)
        if self.in_head and not self.transport.is_closing():
            # a chunk that also ended the message before (pipelined) is not counted: never a false 431
            self.head_bytes += 0 if self.ended_here else len(data)
            if self.head_bytes > HEAD_LIMIT:
                self.close_with(431, b"Request Header Fields Too Large", f"request head over {HEAD_LIMIT} bytes")

    def head_timed_out(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.close_with(408, b"Request Timeout", f"request head not received within {self.head_timeout:g} s")

    def send_400_response(self, msg: str) -> None:
        self.close_with(400, b"Bad Request", "not a valid HTTP/1.1 request")

    def close_with(self, status: int, phrase: bytes, text: str) -> None:
        body = _json(_error_doc(status, text))
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        self.transport.write(head % (status, phrase, len(body)) + body)
        self.transport.close()


class Server:
    """uvicorn in a daemon thread, on a socket bound before it starts (so the port is known at once)."""

    def __init__(self, app: Any, host: str, port: int, cert: tuple[str, str] | None, timeout: float = BODY_TIMEOUT):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            http=type("TimedJsonErrorsProtocol", (JsonErrorsProtocol,), {"head_timeout": timeout}),
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            timeout_keep_alive=15,
            timeout_graceful_shutdown=5,
            ssl_certfile=cert[0] if cert else None,
            ssl_keyfile=cert[1] if cert else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.02)
        if not self.server.started:
            raise RuntimeError("the HTTP server did not start (see the message above)")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
