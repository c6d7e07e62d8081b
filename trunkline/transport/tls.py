"""TLS settings from config, turned into ``ssl.SSLContext`` objects (RFC 3261 §26.2, RFC 5922).

The server side presents ``certfile``/``keyfile``; it asks for a client certificate when a
``cafile`` is configured (mutual TLS between servers, RFC 5922 §7.4) and requires one only with
``require_client_cert``. The client side verifies the server against ``cafile`` (or the system
store) when ``verify_peer``, checking the name ``server_name`` or else the destination IP
address; it presents ``certfile`` when one is set.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Certificates and verification policy for one TLS (or WSS) listener or for outbound TLS."""

    certfile: str | None = None
    keyfile: str | None = None
    cafile: str | None = None
    verify_peer: bool = True  # client side: verify the server's certificate and name
    require_client_cert: bool = False  # server side: refuse clients without a valid certificate
    server_name: str | None = None  # client side: name to check (SNI); default: destination IP

    def server_context(self) -> ssl.SSLContext:
        """Context for a listening socket; raises ValueError without a certificate."""
        if not self.certfile:
            raise ValueError("a TLS listener needs a certfile")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8996
        ctx.load_cert_chain(self.certfile, self.keyfile)
        if self.cafile:
            ctx.load_verify_locations(self.cafile)
        if self.require_client_cert:
            if not self.cafile:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
            ctx.verify_mode = ssl.CERT_REQUIRED
        elif self.cafile:
            ctx.verify_mode = ssl.CERT_OPTIONAL  # verified when offered, for peer_certificate()
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """Context for outbound connections."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.verify_peer:
            if self.cafile:
                ctx.load_verify_locations(self.cafile)
            else:
                ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx
