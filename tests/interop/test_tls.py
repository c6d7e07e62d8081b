"""``trunkline run`` over TLS, with SIPp behind stunnel (Debian builds SIPp without OpenSSL).

Inbound: SIPp UAC --TCP--> stunnel client (verifies Trunkline's certificate against the test
CA, by IP address) --TLS--> Trunkline's ``tls`` listener. Outbound: Trunkline --TLS--> stunnel
server (presents a certificate Trunkline verifies) --TCP--> SIPp UAS.
"""

from __future__ import annotations

import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.interop.certs import InteropCerts, make_test_certs
from tests.interop.harness import (
    TunnelService,
    contact,
    free_port,
    requires_sipp,
    requires_stunnel,
    run_sipp,
    sipp_args,
    sipp_server,
    stunnel,
    wait_listening,
)

pytestmark = [requires_sipp, requires_stunnel]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> InteropCerts:
    return make_test_certs(tmp_path_factory.mktemp("tls-certs"))


def tls_config(certs: InteropCerts, port: int, target: str | None = None) -> dict[str, object]:
    config: dict[str, object] = {
        "listen": [f"tls:127.0.0.1:{port}", f"udp:127.0.0.1:{port}"],
        "tls": certs.trunkline_tls(),
        "log": {"level": "info"},
    }
    if target is not None:
        config["proxy"] = {"routes": [{"name": "to-uas", "targets": [target]}]}
    return config


def through(plain: int, port: int) -> list[str]:
    """SIPp arguments: address requests to Trunkline (``[remote_ip]:[remote_port]`` in the
    scenarios), but send them to the stunnel port in front of it (``-rsa``)."""
    return ["-rsa", f"127.0.0.1:{plain}", f"127.0.0.1:{port}"]


def tunnel(
    certs: InteropCerts, tmp_path: Path, *services: TunnelService
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return stunnel(list(services), certs.ca, certs.cert, certs.key, tmp_path)


def test_options_over_tls(trunkline, certs: InteropCerts, tmp_path: Path) -> None:
    port, plain = free_port(), free_port()
    tl = trunkline(tls_config(certs, port))
    with tunnel(certs, tmp_path, TunnelService("to-trunkline", plain, port, client=True)):
        result = run_sipp(
            [*sipp_args("options.xml", transport="t1", port=free_port()), *through(plain, port)],
            tmp_path,
        )
    assert result.successful == 1, result.output
    assert result.failed == 0
    assert tl.alive()


def test_call_tls_in_udp_out(trunkline, certs: InteropCerts, tmp_path: Path) -> None:
    """The transport conversion the issue names: TLS in, UDP out, and back for ACK and BYE
    (Trunkline record-routes twice, one entry per side: RFC 5658)."""
    port, plain, uas_port = free_port(), free_port(), free_port()
    trunkline(tls_config(certs, port, f"sip:127.0.0.1:{uas_port};transport=udp"))
    uas = sipp_args("uas.xml", transport="u1", port=uas_port, calls=2)
    with (
        tunnel(certs, tmp_path, TunnelService("to-trunkline", plain, port, client=True)),
        sipp_server(uas, tmp_path),
    ):
        wait_listening("udp", uas_port)
        result = run_sipp(
            [
                *sipp_args("uac.xml", transport="t1", port=free_port(), calls=2),
                "-d",
                "100",
                *through(plain, port),
            ],
            tmp_path,
        )
    assert result.successful == 2, result.output
    assert result.failed == 0


def test_call_tls_in_tls_out(trunkline, certs: InteropCerts, tmp_path: Path) -> None:
    """TLS on both sides. The UAS's Contact names its TLS terminator, so in-dialog requests
    reach it over TLS as well; uas_contact.xml insists on the ACK, and the SIPp UAS has no
    other way in than through stunnel."""
    port, plain, uas_tls, uas_port = free_port(), free_port(), free_port(), free_port()
    trunkline(tls_config(certs, port, f"sip:127.0.0.1:{uas_tls};transport=tls"))
    uas = [
        *sipp_args("uas_contact.xml", transport="t1", port=uas_port),
        *contact(uas_tls, "tls"),
    ]
    services = (
        TunnelService("to-trunkline", plain, port, client=True),
        TunnelService("uas-terminator", uas_tls, uas_port, client=False),
    )
    with tunnel(certs, tmp_path, *services), sipp_server(uas, tmp_path) as uas_proc:
        wait_listening("tcp", uas_port)
        result = run_sipp(
            [
                *sipp_args("uac.xml", transport="t1", port=free_port()),
                "-d",
                "100",
                *through(plain, port),
            ],
            tmp_path,
        )
        assert result.successful == 1, result.output
        assert result.failed == 0
        # The UAS ends on its own once it got ACK and BYE (-m 1); a generous safety net.
        assert uas_proc.wait(timeout=30) == 0, uas_proc.stderr.read().decode(errors="replace")
