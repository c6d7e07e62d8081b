"""``trunkline run`` with a SIP-over-WebSocket client (RFC 7118), as a browser would be.

The client is the ``websockets`` library: one WebSocket message is one SIP message, its Via
names a ``.invalid`` host (it cannot be reached at any address), and every response must come
back over the connection it opened. Calls and registrations go on to SIPp peers over UDP.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.interop.certs import InteropCerts, make_test_certs
from tests.interop.harness import (
    Trunkline,
    contact,
    free_port,
    requires_sipp,
    sipp_args,
    sipp_server,
    wait_listening,
)

TIMEOUT = 10.0  # safety net: every wait is for a message we expect
CLIENT_HOST = "df7jal23ls0d.invalid"  # RFC 7118 §5.2: a browser's made-up Via/Contact host


@dataclass
class SipResponse:
    status: int
    headers: list[tuple[str, str]]
    raw: str

    def values(self, name: str) -> list[str]:
        """Every value of header ``name`` (comma-separated lists split, no quoted commas here)."""
        out: list[str] = []
        for n, v in self.headers:
            if n.lower() == name.lower():
                out.extend(part.strip() for part in v.split(","))
        return out

    def first(self, name: str) -> str:
        values = self.values(name)
        assert values, f"no {name} in:\n{self.raw}"
        return values[0]


def parse_response(text: str) -> SipResponse:
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ", lines[0])
    assert m is not None, f"not a response:\n{text}"
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return SipResponse(int(m.group(1)), headers, text)


class WsUac:
    """A minimal SIP UA over one WebSocket connection."""

    def __init__(self, ws: ClientConnection, server: str) -> None:
        self.ws = ws
        self.server = server  # Trunkline's host:port
        self.call_id = f"{secrets.token_hex(8)}@{CLIENT_HOST}"
        self.tag = secrets.token_hex(4)

    def request(
        self,
        method: str,
        uri: str,
        *,
        cseq: int = 1,
        to: str | None = None,
        extra: tuple[str, ...] = (),
        body: str = "",
        branch: str | None = None,
    ) -> str:
        branch = branch or f"z9hG4bK{secrets.token_hex(6)}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/WS {CLIENT_HOST};branch={branch}",
            "Max-Forwards: 70",
            f"From: <sip:alice@example.com>;tag={self.tag}",
            f"To: {to or '<' + uri + '>'}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:alice@{CLIENT_HOST};transport=ws>",
            *extra,
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        return "\r\n".join(lines)

    async def send(self, message: str) -> None:
        await self.ws.send(message)  # a text frame: RFC 7118 §5.1

    async def response(self) -> SipResponse:
        data = await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        text = data if isinstance(data, str) else data.decode()
        return parse_response(text)

    async def final(self) -> SipResponse:
        """The next final response (provisional ones skipped)."""
        while True:
            response = await self.response()
            if response.status >= 200:
                return response


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> InteropCerts:
    return make_test_certs(tmp_path_factory.mktemp("ws-certs"))


def ws_config(port: int, routes: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {
        "listen": [f"ws:127.0.0.1:{port}", f"udp:127.0.0.1:{port}"],
        "proxy": {"routes": routes or []},
        "log": {"level": "info"},
    }


async def options_ping(ws: ClientConnection, port: int, transport: str) -> SipResponse:
    uac = WsUac(ws, f"127.0.0.1:{port}")
    await uac.send(uac.request("OPTIONS", f"sip:127.0.0.1:{port};transport={transport}"))
    return await uac.final()


def assert_options_answer(response: SipResponse) -> None:
    assert response.status == 200, response.raw
    allow = response.values("Allow")
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"} <= set(allow)
    assert "application/sdp" in response.values("Accept")
    assert any(n.lower() == "supported" for n, _v in response.headers), response.raw
    via = response.first("Via")
    assert via.startswith(f"SIP/2.0/WS {CLIENT_HOST};"), via
    assert "received=127.0.0.1" in via  # §18.2.1: the sent-by is a name, not the source


async def test_options_over_ws(trunkline) -> None:
    port = free_port()
    trunkline(ws_config(port))
    async with connect(f"ws://127.0.0.1:{port}/", subprotocols=["sip"]) as ws:
        assert ws.subprotocol == "sip"
        assert_options_answer(await options_ping(ws, port, "ws"))


async def test_options_over_wss(trunkline, certs: InteropCerts) -> None:
    port = free_port()
    config = ws_config(port)
    config["listen"] = [f"wss:127.0.0.1:{port}"]
    config["tls"] = certs.trunkline_tls()
    trunkline(config)
    context = ssl.create_default_context(cafile=str(certs.ca))  # checks the IP SAN
    async with connect(f"wss://127.0.0.1:{port}/", subprotocols=["sip"], ssl=context) as ws:
        assert ws.subprotocol == "sip"
        assert_options_answer(await options_ping(ws, port, "wss"))


async def test_handshake_without_sip_subprotocol_is_refused(trunkline) -> None:
    """RFC 7118 §4.1: the client must offer ``sip``; Trunkline refuses the upgrade otherwise."""
    from websockets.exceptions import InvalidStatus

    port = free_port()
    trunkline(ws_config(port))
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{port}/"):
            pass
    assert info.value.response.status_code == 400


async def register_through(
    trunkline: Callable[[dict[str, object]], Trunkline], tmp_path: Path, domains: list[str]
) -> SipResponse:
    """REGISTER sip:example.com from a WS client, routed (methods [REGISTER]) to a SIPp
    registrar on UDP; returns what the client got."""
    port, registrar = free_port(), free_port()
    routes = [
        {
            "name": "registrar",
            "match": {"methods": ["REGISTER"], "domain": "example.com"},
            "targets": [f"sip:127.0.0.1:{registrar}"],
        }
    ]
    config = ws_config(port, routes)
    config["proxy"] = {"routes": routes, "domains": domains}
    trunkline(config)
    with sipp_server(sipp_args("registrar.xml", port=registrar), tmp_path) as sipp:
        wait_listening("udp", registrar)
        async with connect(f"ws://127.0.0.1:{port}/", subprotocols=["sip"]) as ws:
            uac = WsUac(ws, f"127.0.0.1:{port}")
            await uac.send(
                uac.request(
                    "REGISTER",
                    "sip:example.com",  # §10.2: a REGISTER's Request-URI has no user part
                    to="<sip:alice@example.com>",
                    extra=("Expires: 600",),
                )
            )
            response = await uac.final()
        if response.status == 200:
            assert await asyncio.to_thread(sipp.wait, TIMEOUT) == 0
    return response


@requires_sipp
async def test_register_forwarded_to_registrar(trunkline, tmp_path: Path) -> None:
    response = await register_through(trunkline, tmp_path, domains=[])
    assert response.status == 200, response.raw
    assert response.values("Via") == [response.first("Via")]  # the proxy's own Via is gone
    assert response.first("Via").startswith(f"SIP/2.0/WS {CLIENT_HOST};")
    assert response.first("Contact").startswith(f"<sip:alice@{CLIENT_HOST};transport=ws>")
    assert "expires=600" in response.first("Contact")


@requires_sipp
async def test_register_for_our_own_domain_follows_its_route(trunkline, tmp_path: Path) -> None:
    response = await register_through(trunkline, tmp_path, domains=["example.com"])
    assert response.status == 200, response.raw


SDP = (
    "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


@requires_sipp
async def test_call_from_ws_client_to_udp_uas(trunkline, tmp_path: Path) -> None:
    """INVITE over WS to a SIPp UAS on UDP; 200; ACK and BYE along the recorded route."""
    port, uas_port = free_port(), free_port()
    routes = [{"name": "uas", "targets": [f"sip:127.0.0.1:{uas_port};transport=udp"]}]
    trunkline(ws_config(port, routes))
    uas = [*sipp_args("uas_contact.xml", port=uas_port), *contact(uas_port, "udp")]
    with sipp_server(uas, tmp_path) as sipp:
        wait_listening("udp", uas_port)
        async with connect(f"ws://127.0.0.1:{port}/", subprotocols=["sip"]) as ws:
            uac = WsUac(ws, f"127.0.0.1:{port}")
            to = "<sip:bob@example.com>"
            invite = uac.request(
                "INVITE", "sip:bob@example.com", to=to, body=SDP,
                extra=("Content-Type: application/sdp",),
            )  # fmt: skip
            await uac.send(invite)
            ok = await uac.final()
            assert ok.status == 200, ok.raw
            # Two Record-Route entries (RFC 5658): UDP side first, then the WS side.
            record_route = ok.values("Record-Route")
            assert record_route == [
                f"<sip:127.0.0.1:{port};lr>",
                f"<sip:127.0.0.1:{port};transport=ws;lr>",
            ], ok.raw
            # §12.1.2: the UAC's route set is the Record-Route list reversed; the remote
            # target is the Contact of the 200 (§12.2.1.1).
            routes_hdr = "Route: " + ", ".join(reversed(record_route))
            remote_target = ok.first("Contact").strip("<>").split(">")[0]
            to_tagged = ok.first("To")
            assert ";tag=" in to_tagged
            await uac.send(uac.request("ACK", remote_target, to=to_tagged, extra=(routes_hdr,)))
            await uac.send(
                uac.request("BYE", remote_target, cseq=2, to=to_tagged, extra=(routes_hdr,))
            )
            bye_ok = await uac.final()
            assert bye_ok.status == 200, bye_ok.raw
            assert bye_ok.first("CSeq") == "2 BYE"
            assert bye_ok.first("Call-ID") == uac.call_id
        # uas_contact.xml fails unless the ACK reached it before the BYE; it ends by itself.
        assert await asyncio.to_thread(sipp.wait, TIMEOUT) == 0
