"""Loop detection and IPv6 through a running Trunkline."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.interop.harness import (
    SCENARIOS,
    free_port,
    requires_sipp,
    run_sipp,
    sipp_server,
    wait_listening,
)


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_a_request_that_comes_back_is_a_loop(trunkline) -> None:  # type: ignore[no-untyped-def]
    """The route sends every call to Trunkline itself: the first pass forwards, the second
    finds its own Via with the same loop hash and answers 482 (RFC 3261 §16.3 step 4),
    which the first pass relays back."""
    port = free_port()
    trunkline(
        {
            "listen": [f"udp:127.0.0.1:{port}"],
            "proxy": {"routes": [{"targets": [f"sip:127.0.0.1:{port}"]}]},
        }
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        local = sock.getsockname()[1]
        sock.sendto(
            (
                f"INVITE sip:loop@127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKloop1\r\n"
                f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:loop@127.0.0.1>\r\n"
                f"Call-ID: loop-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
                f"Content-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        while True:  # a 100 Trying may come first
            answer = sock.recv(65535)
            if not answer.startswith(b"SIP/2.0 100 "):
                break
    assert answer.startswith(b"SIP/2.0 482 "), answer[:200]
    assert answer.count(b"\r\nVia:") == 1, "only the caller's own Via comes back"


@requires_sipp
@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback")
def test_options_and_a_call_over_ipv6(trunkline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port, uas_port = free_port("::1"), free_port("::1")
    trunkline(
        {
            "listen": [f"udp:[::1]:{port}"],
            "proxy": {
                "routes": [{"targets": [f"sip:[::1]:{uas_port}"]}],
                "trusted_networks": ["::1/128"],
            },
        }
    )

    def sipp(scenario: str, local: int) -> list[str]:
        return ["sipp", "-sf", str(SCENARIOS / scenario), "-i", "::1", "-p", str(local),
                "-t", "u1", "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error"]  # fmt: skip

    options = run_sipp([*sipp("options.xml", free_port("::1")), f"[::1]:{port}"], tmp_path)
    assert options.successful == 1, options.output
    with sipp_server(sipp("uas.xml", uas_port), tmp_path):
        wait_listening("udp", uas_port, "::1")
        call = run_sipp(
            [*sipp("uac.xml", free_port("::1")), "-d", "100", f"[::1]:{port}"], tmp_path
        )
    assert call.successful == 1, call.output
