"""A throwaway CA and a server certificate for 127.0.0.1 and ::1, made at test time.

Trunkline's TLS/WSS listeners present the server certificate; stunnel (in front of SIPp, which
Debian builds without OpenSSL) and the WebSocket client verify it against the CA, by IP address.
The certificates are the transport tests' (``tests/transport/helpers.make_certs``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tests.transport.helpers import make_certs


@dataclass(frozen=True)
class InteropCerts:
    """PEM file paths: the CA, and a certificate (IP SANs 127.0.0.1, ::1) with its key."""

    ca: Path
    cert: Path
    key: Path

    def trunkline_tls(self) -> dict[str, object]:
        """The ``tls:`` section of a Trunkline config: present ``cert``, trust ``ca``."""
        return {
            "certfile": str(self.cert),
            "keyfile": str(self.key),
            "cafile": str(self.ca),
            "verify_peer": True,
        }


def make_test_certs(directory: Path) -> InteropCerts:
    directory.mkdir(parents=True, exist_ok=True)
    made = make_certs(directory)
    os.chmod(made.server_key, 0o600)  # stunnel refuses a private key others can read
    return InteropCerts(Path(made.ca), Path(made.server_cert), Path(made.server_key))
