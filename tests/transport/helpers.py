"""Helpers for transport tests: messages, a recording TransportUser, test certificates."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trunkline.sip.endpoint import Endpoint
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request, Response
from trunkline.transport import TlsSettings

TIMEOUT = 5.0


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = _has_ipv6_loopback()
HOSTS = [
    pytest.param("127.0.0.1", id="v4"),
    pytest.param("::1", id="v6", marks=pytest.mark.skipif(not HAS_IPV6, reason="no ::1")),
]


# ---- messages ------------------------------------------------------------------------------
def request(method: str = "OPTIONS", branch: str = "z9hG4bK1", body: bytes = b"") -> bytes:
    return (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP client.example.com;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "To: <sip:bob@example.com>\r\n"
        f"Call-ID: {branch}@example.com\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def response(branch: str = "z9hG4bK1") -> bytes:
    return (
        "SIP/2.0 200 OK\r\n"
        f"Via: SIP/2.0/TCP client.example.com;branch={branch}\r\n"
        "From: <sip:alice@example.com>;tag=1\r\n"
        "To: <sip:bob@example.com>;tag=2\r\n"
        f"Call-ID: {branch}@example.com\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


# ---- recording user ------------------------------------------------------------------------
class Recorder:
    """A TransportUser that queues everything it is told."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[tuple[Request | Response, Endpoint]] = asyncio.Queue()
        self.bad: asyncio.Queue[tuple[ParseError, bytes, Endpoint]] = asyncio.Queue()
        self.failures: asyncio.Queue[tuple[Endpoint, bytes, str]] = asyncio.Queue()

    def message_received(self, message: Request | Response, source: Endpoint) -> None:
        self.messages.put_nowait((message, source))

    def bad_message(self, error: ParseError, data: bytes, source: Endpoint) -> None:
        self.bad.put_nowait((error, data, source))

    def send_failed(self, destination: Endpoint, data: bytes, reason: str) -> None:
        self.failures.put_nowait((destination, data, reason))

    async def message(self) -> tuple[Request | Response, Endpoint]:
        return await asyncio.wait_for(self.messages.get(), TIMEOUT)

    async def bad_one(self) -> tuple[ParseError, bytes, Endpoint]:
        return await asyncio.wait_for(self.bad.get(), TIMEOUT)

    async def failure(self) -> tuple[Endpoint, bytes, str]:
        return await asyncio.wait_for(self.failures.get(), TIMEOUT)


async def read_until_eof(reader: asyncio.StreamReader) -> bytes:
    """Everything the peer sends until it closes (fails the test on timeout)."""
    return await asyncio.wait_for(reader.read(), TIMEOUT)


def free_port(host: str) -> int:
    """A port nothing listens on (bound then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


# ---- certificates --------------------------------------------------------------------------
@dataclass(frozen=True)
class Certs:
    ca: str  # trust anchor that signed server and client
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    other_ca: str  # a CA that signed nothing here

    def server(self, **kwargs: Any) -> TlsSettings:
        return TlsSettings(self.server_cert, self.server_key, **kwargs)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    common_name: str, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, key: ec.EllipticCurvePrivateKey | None, cert: x509.Certificate) -> str:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return str(path)


def make_certs(d: Path) -> Certs:
    """A test CA with a server and a client certificate (for 127.0.0.1, ::1, localhost)."""
    ca_key, ca_cert = _ca("Trunkline Test CA")
    server_key, server_cert = _leaf("sbc.test", ca_key, ca_cert)
    client_key, client_cert = _leaf("peer.test", ca_key, ca_cert)
    _other_key, other_cert = _ca("Somebody Else's CA")
    return Certs(
        ca=_write(d / "ca.pem", None, ca_cert),
        server_cert=_write(d / "server.pem", server_key, server_cert),
        server_key=str(d / "server.key"),
        client_cert=_write(d / "client.pem", client_key, client_cert),
        client_key=str(d / "client.key"),
        other_ca=_write(d / "other.pem", None, other_cert),
    )


class DatagramPeer(asyncio.DatagramProtocol):
    """A bare UDP socket for tests (uvloop has no ``loop.sock_recvfrom``)."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))

    @classmethod
    async def open(cls, host: str) -> DatagramPeer:
        loop = asyncio.get_running_loop()
        _transport, peer = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return peer

    @property
    def port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def sendto(self, data: bytes, host: str, port: int) -> None:
        assert self.transport is not None
        self.transport.sendto(data, (host, port))

    async def receive(self) -> tuple[bytes, tuple[str, int]]:
        return await asyncio.wait_for(self.received.get(), TIMEOUT)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
