"""A running ``trunkline run`` as a stateful proxy between real SIPp peers (UDP and TCP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.interop.harness import (
    free_port,
    requires_sipp,
    run_sipp,
    sipp_args,
    sipp_server,
    wait_listening,
)

pytestmark = requires_sipp

SIPP_TRANSPORT = {"udp": "u1", "tcp": "t1"}


def proxy_config(port: int, uas_port: int, out: str = "udp") -> dict[str, object]:
    return {
        "listen": [f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"],
        "proxy": {
            "routes": [{"name": "to-uas", "targets": [f"sip:127.0.0.1:{uas_port};transport={out}"]}]
        },
        "log": {"level": "info"},
    }


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_answered_by_trunkline(trunkline, tmp_path: Path, transport: str) -> None:
    port = free_port()
    tl = trunkline(proxy_config(port, free_port()))
    result = run_sipp(
        [
            *sipp_args("options.xml", transport=SIPP_TRANSPORT[transport], port=free_port()),
            f"127.0.0.1:{port}",
        ],
        tmp_path,
    )
    assert result.successful == 1, result.output
    assert result.failed == 0
    assert tl.alive()


@pytest.mark.parametrize(
    ("inbound", "outbound"), [("udp", "udp"), ("tcp", "tcp"), ("udp", "tcp"), ("tcp", "udp")]
)
def test_proxied_call(trunkline, tmp_path: Path, inbound: str, outbound: str) -> None:
    port, uas_port = free_port(), free_port()
    trunkline(proxy_config(port, uas_port, outbound))
    uas = sipp_args("uas.xml", transport=SIPP_TRANSPORT[outbound], port=uas_port, calls=3)
    with sipp_server(uas, tmp_path):
        wait_listening(outbound, uas_port)
        result = run_sipp(
            [
                *sipp_args("uac.xml", transport=SIPP_TRANSPORT[inbound], port=free_port(), calls=3),
                "-d",
                "100",
                f"127.0.0.1:{port}",
            ],
            tmp_path,
        )
    assert result.successful == 3, result.output
    assert result.failed == 0


def test_cancel_of_a_ringing_call(trunkline, tmp_path: Path) -> None:
    port, uas_port = free_port(), free_port()
    trunkline(proxy_config(port, uas_port))
    with sipp_server(sipp_args("uas_ring.xml", port=uas_port, calls=2), tmp_path):
        wait_listening("udp", uas_port)
        result = run_sipp(
            [*sipp_args("uac_cancel.xml", port=free_port(), calls=2), f"127.0.0.1:{port}"],
            tmp_path,
        )
    assert result.successful == 2, result.output
    assert result.failed == 0


def test_calls_complete_through_five_percent_loss(trunkline, tmp_path: Path) -> None:
    """SIPp drops 5% of what it sends and receives on both sides; retransmissions repair it."""
    port, uas_port = free_port(), free_port()
    trunkline(proxy_config(port, uas_port))
    calls = 20
    uas = [*sipp_args("uas_lossy.xml", port=uas_port, calls=calls, timeout=90), "-lost", "5"]
    with sipp_server(uas, tmp_path):
        wait_listening("udp", uas_port)
        result = run_sipp(
            [
                *sipp_args("uac.xml", port=free_port(), calls=calls, timeout=90),
                "-lost",
                "5",
                "-d",
                "100",
                "-r",
                "10",
                f"127.0.0.1:{port}",
            ],
            tmp_path,
            timeout=150,
        )
    assert result.successful == calls, result.output
    assert result.failed == 0
