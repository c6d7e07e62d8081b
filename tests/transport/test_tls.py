"""TLS: outbound and inbound with certificates made at test time, verification, mutual TLS."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from trunkline.sip.message import Request, Response
from trunkline.transport import TlsSettings

from .conftest import LayerFactory
from .helpers import HOSTS, TIMEOUT, Certs, request, response


@pytest.mark.parametrize("host", HOSTS)
async def test_tls_round_trip(make_layer: LayerFactory, certs: Certs, host: str) -> None:
    server, server_user = make_layer()
    client, client_user = make_layer(client_tls=TlsSettings(cafile=certs.ca))
    server_ep = await server.listen("tls", host, 0, tls=certs.server())
    assert server_ep.transport == "tls"

    client.send(request(), server_ep)
    message, source = await server_user.message()
    assert isinstance(message, Request) and source.transport == "tls"

    server.send(response(), source)
    answer, origin = await client_user.message()
    assert isinstance(answer, Response) and origin.port == server_ep.port
    cert = client.peer_certificate(origin.conn)
    assert cert is not None and (("commonName", "sbc.test"),) in cert["subject"]
    assert server.peer_certificate(source.conn) is None  # no client certificate asked for


async def test_untrusted_server_certificate(make_layer: LayerFactory, certs: Certs) -> None:
    server, server_user = make_layer()
    client, client_user = make_layer(client_tls=TlsSettings(cafile=certs.other_ca))
    server_ep = await server.listen("tls", "127.0.0.1", 0, tls=certs.server())
    client.send(request(), server_ep)
    destination, data, reason = await client_user.failure()
    assert destination == server_ep and data == request()
    assert "verif" in reason.lower()
    assert client.connection_count() == 0 and server_user.messages.empty()


async def test_wrong_server_name(make_layer: LayerFactory, certs: Certs) -> None:
    server, _server_user = make_layer()
    settings = TlsSettings(cafile=certs.ca, server_name="other.example.com")
    client, client_user = make_layer(client_tls=settings)
    server_ep = await server.listen("tls", "127.0.0.1", 0, tls=certs.server())
    client.send(request(), server_ep)
    _destination, _data, reason = await client_user.failure()
    assert "verif" in reason.lower()


async def test_mutual_tls_client_certificate(make_layer: LayerFactory, certs: Certs) -> None:
    server, server_user = make_layer()
    client_settings = TlsSettings(certs.client_cert, certs.client_key, cafile=certs.ca)
    client, _client_user = make_layer(client_tls=client_settings)
    server_settings = certs.server(cafile=certs.ca, require_client_cert=True)
    server_ep = await server.listen("tls", "127.0.0.1", 0, tls=server_settings)
    client.send(request(), server_ep)
    _message, source = await server_user.message()
    cert = server.peer_certificate(source.conn)
    assert cert is not None and (("commonName", "peer.test"),) in cert["subject"]


async def test_client_without_certificate_refused(make_layer: LayerFactory, certs: Certs) -> None:
    server, server_user = make_layer()
    server_settings = certs.server(cafile=certs.ca, require_client_cert=True)
    server_ep = await server.listen("tls", "127.0.0.1", 0, tls=server_settings)
    context = ssl.create_default_context(cafile=certs.ca)
    reader, writer = await asyncio.open_connection(server_ep.host, server_ep.port, ssl=context)
    writer.write(request())
    # TLS 1.3: the server's refusal arrives after the client thinks the handshake is over.
    try:
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
    except (ssl.SSLError, ConnectionError):
        data = b""  # the alert, or a reset, depending on the loop
    assert data == b""
    writer.close()
    assert server_user.messages.empty() and server.connection_count() == 0
