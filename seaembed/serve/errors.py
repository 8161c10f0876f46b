"""HTTP errors in the OpenAI error shape: `{"error": {"message", "type", "param", "code"}}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class _ASCIIJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error message may quote the caller's text, and text with a lone surrogate
    cannot be encoded as UTF-8 (Starlette's JSONResponse would fail with a 500 on it)."""

    def render(self, content) -> bytes:
        import json

        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


class APIError(Exception):
    """A request the server refuses, with the status code and a message for the caller."""

    def __init__(self, status: int, message: str, *, param: str | None = None, type_: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.type = type_ or ("invalid_request_error" if status < 500 else "server_error")


def error_response(status: int, message: str, *, param: str | None = None, type_: str | None = None,
                   code: str | None = None, headers: dict | None = None) -> JSONResponse:
    """An error in the OpenAI shape."""
    body = {"error": {"message": message,
                      "type": type_ or ("invalid_request_error" if status < 500 else "server_error"),
                      "param": param, "code": code}}
    return _ASCIIJSONResponse(body, status_code=status, headers=headers)


def install_handlers(app: FastAPI) -> None:
    """Route every error (ours, validation, 404/405, unexpected) through the OpenAI error shape."""

    @app.exception_handler(APIError)
    async def _api_error(_: Request, e: APIError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if e.status == 401 else None
        return error_response(e.status, e.message, param=e.param, type_=e.type, code=e.code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        parts, param = [], None
        for err in e.errors():
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            param = param or (".".join(loc) or None)
            parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg')}")
        return error_response(400, "invalid request: " + "; ".join(parts), param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        return error_response(e.status_code, str(e.detail), headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        return error_response(500, f"internal error: {type(e).__name__}")


def check_unicode(text: str, what: str, param: str) -> None:
    """400 for text that is not valid Unicode: a lone surrogate (JSON allows the escape "\\ud800", UTF-8 cannot
    encode it and the tokenizer fails on it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise APIError(400, f"{what} has a lone surrogate (U+{ord(text[e.start]):04X}) at character {e.start}: "
                            "not valid Unicode text", param=param) from None
