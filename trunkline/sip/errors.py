"""One exception hierarchy for the SIP core; each error carries the answer a server should give."""

from __future__ import annotations


class SipError(Exception):
    """Base of every error the SIP core raises on purpose; anything else is a bug."""

    status: int = 500
    reason: str = "Server Internal Error"


class ParseError(SipError, ValueError):
    """Bytes that are not an acceptable SIP message (or header, URI, body).

    ``status``/``reason`` are what a server should answer a request with (400, 505, 416, 413,
    513...). ``headers`` holds the raw header lines that were parsed well enough to build that
    answer (Via, From, To, Call-ID, CSeq), in order, so a server can answer even a broken request.
    ``is_request`` is True for a request, False for a response, None when not even the start line
    could be read; responses are never answered, only dropped.
    """

    def __init__(
        self,
        detail: str,
        status: int = 400,
        reason: str = "Bad Request",
        *,
        is_request: bool | None = None,
        method: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.reason = reason
        self.is_request = is_request
        self.method = method
        self.headers: list[tuple[str, bytes]] = headers if headers is not None else []

    def __repr__(self) -> str:
        return f"ParseError({self.status} {self.reason}: {self.detail})"


class FramingError(ParseError):
    """A stream (TCP/TLS) whose message boundaries are lost: the connection must be closed."""


class SdpError(ParseError):
    """An SDP body (RFC 8866) that cannot be parsed or used.

    Defaults to 488 Not Acceptable Here, the answer RFC 3261 §13.3.1.3 and §21.4.26 give to an
    INVITE whose session description is unacceptable (a 400 would blame the SIP message itself).
    """

    def __init__(
        self,
        detail: str,
        status: int = 488,
        reason: str = "Not Acceptable Here",
        *,
        is_request: bool | None = None,
        method: str | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        super().__init__(
            detail, status, reason, is_request=is_request, method=method, headers=headers
        )

    def __repr__(self) -> str:
        return f"SdpError({self.status} {self.reason}: {self.detail})"
