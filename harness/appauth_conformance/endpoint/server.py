"""The endpoint's HTTP side: a Starlette application served by uvicorn (h11) in a thread of its own.

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
import secrets
import socket
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from appauth_conformance.endpoint.judging import PATH, Endpoint

BODY_LIMIT = 64 * 1024
HEAD_LIMIT = 16 * 1024
BODY_TIMEOUT = 10.0
VALIDATE, TOKEN, LOGOUT = "/v1/usg/acs/token/validate", "/v1/usg/acs/token", "/v1/usg/acs/token/logout"
SERVED = {
    PATH: "POST: App ID authentication (judged)",
    VALIDATE: 'POST {"token": ...}: validate a token this endpoint issued',
    TOKEN: "PUT with X-Access-Token: refresh a token",
    LOGOUT: "POST with X-Access-Token: log out (the token stops validating)",
}


def _error(status: int, code: str, msg: str, **more: Any) -> JSONResponse:
    return JSONResponse({"error_code": code, "error_msg": msg, **more}, status_code=status)


class _TooLarge(Exception):
    pass


async def _body(request: Request, limit: int, timeout: float) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
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
    async def appauth(request: Request) -> JSONResponse:
        try:
            body = await _body(request, BODY_LIMIT, body_timeout)
        except _TooLarge:
            return _error(413, "USG.000000413", f"request body over {BODY_LIMIT} bytes")
        except TimeoutError:
            return _error(408, "USG.000000408", f"request body not received within {body_timeout:g} s")
        except ClientDisconnect:
            return _error(400, "USG.000000400", "the client went away before its body arrived")
        peer = f"{request.client.host}:{request.client.port}" if request.client else ""
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
        answer = endpoint.handle(request.method, raw, body, peer)
        return JSONResponse(answer.body, status_code=answer.status)

    async def validate(request: Request) -> JSONResponse:
        try:
            doc = json.loads(await _body(request, BODY_LIMIT, body_timeout))
        except (ValueError, _TooLarge, TimeoutError):
            return _error(400, "USG.000000400", 'the body must be JSON: {"token": "<accessToken>"}')
        token = doc.get("token") if isinstance(doc, dict) else None
        found = endpoint.issued.get(token) if isinstance(token, str) else None
        if found is None:
            return _error(401, "USG.000000401", "token unknown, logged out or not issued by this endpoint")
        return JSONResponse(found)

    async def refresh(request: Request) -> JSONResponse:
        old = request.headers.get("x-access-token", "")
        with endpoint.lock:
            found = endpoint.issued.pop(old, None)
            if found is not None:
                found = {**found, "accessToken": "cnr" + secrets.token_hex(24)}
                endpoint.issued[found["accessToken"]] = found
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
            Route(PATH, appauth, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            Route(VALIDATE, validate, methods=["POST"]),
            Route(TOKEN, refresh, methods=["PUT"]),
            Route(LOGOUT, logout, methods=["POST"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed, 500: failed},
    )
    return _HeadLimit(app)


class _HeadLimit:
    """431 for a request whose header lines add up to more than HEAD_LIMIT (uvicorn limits only a head that
    has not fully arrived yet)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > HEAD_LIMIT:
            response = _error(431, "USG.000000431", f"request head over {HEAD_LIMIT} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class JsonErrorsH11(H11Protocol):
    """uvicorn's h11 protocol, with its answer to an unparsable request in JSON (431 for an oversized head),
    and a connection whose first request head has not arrived within `head_timeout` closed with a 408."""

    head_timeout = BODY_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(self.head_timeout, self.head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_timer.cancel()
        super().connection_lost(exc)

    def head_timed_out(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            body = json.dumps(
                {
                    "error_code": "USG.000000408",
                    "error_msg": f"request head not received within {self.head_timeout:g} s",
                }
            ).encode()
            head = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            self.transport.write(head % len(body) + body)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        big = len(self.conn.trailing_data[0]) >= HEAD_LIMIT
        status, text = (431, f"request head over {HEAD_LIMIT} bytes") if big else (400, "not a valid HTTP/1.1 request")
        body = json.dumps({"error_code": f"USG.000000{status}", "error_msg": text}).encode()
        phrase = b"Request Header Fields Too Large" if big else b"Bad Request"
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
            http=type("TimedJsonErrorsH11", (JsonErrorsH11,), {"head_timeout": timeout}),
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            h11_max_incomplete_event_size=HEAD_LIMIT,
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
