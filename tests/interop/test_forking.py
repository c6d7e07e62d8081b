"""Serial and parallel forking through a running Trunkline, with real SIPp callees."""

from __future__ import annotations

from pathlib import Path

from tests.interop.harness import (
    SCENARIOS,
    free_port,
    requires_sipp,
    run_sipp,
    sipp_args,
    sipp_server,
    wait_listening,
)

pytestmark = requires_sipp


def forking_config(port: int, targets: list[int], fork: str) -> dict[str, object]:
    return {
        "listen": [f"udp:127.0.0.1:{port}"],
        "proxy": {"routes": [{"targets": [f"sip:127.0.0.1:{p}" for p in targets], "fork": fork}]},
    }


def rejecting(port: int, status: str, tmp_path: Path) -> list[str]:
    """A SIPp callee answering ``status`` (e.g. "486 Busy Here") to every INVITE."""
    scenario = tmp_path / f"uas_reject_{status.split()[0]}.xml"
    scenario.write_text((SCENARIOS / "uas_reject.xml").read_text().replace("REJECT_STATUS", status))
    return ["sipp", "-sf", str(scenario), *sipp_args("uas_reject.xml", port=port)[3:]]


def test_serial_forking_fails_over_to_the_next_target(trunkline, tmp_path: Path) -> None:
    port, first, second = free_port(), free_port(), free_port()
    trunkline(forking_config(port, [first, second], "serial"))
    with (
        sipp_server(rejecting(first, "503 Service Unavailable", tmp_path), tmp_path) as down,
        sipp_server(sipp_args("uas.xml", port=second), tmp_path),
    ):
        wait_listening("udp", first)
        wait_listening("udp", second)
        result = run_sipp(
            [*sipp_args("uac_dialog.xml", port=free_port()), "-d", "100", f"127.0.0.1:{port}"],
            tmp_path,
        )
        assert down.wait(timeout=30) == 0, "the first target got the INVITE and its ACK"
    assert result.successful == 1, result.output


def test_parallel_forking_relays_the_2xx(trunkline, tmp_path: Path) -> None:
    port, busy, answering = free_port(), free_port(), free_port()
    trunkline(forking_config(port, [busy, answering], "parallel"))
    with (
        sipp_server(rejecting(busy, "486 Busy Here", tmp_path), tmp_path) as rejecting_uas,
        sipp_server(sipp_args("uas.xml", port=answering), tmp_path),
    ):
        wait_listening("udp", busy)
        wait_listening("udp", answering)
        result = run_sipp(
            [*sipp_args("uac_dialog.xml", port=free_port()), "-d", "100", f"127.0.0.1:{port}"],
            tmp_path,
        )
        assert rejecting_uas.wait(timeout=30) == 0
    assert result.successful == 1, result.output


def test_a_6xx_ends_the_search_and_cancels_the_ringing_branch(trunkline, tmp_path: Path) -> None:
    """§16.7 step 5: the 603 is the answer, and the branch still ringing gets a CANCEL (sent
    once it has rung: §9.1). uas_ring.xml only succeeds if that CANCEL arrives."""
    port, declining, ringing = free_port(), free_port(), free_port()
    trunkline(forking_config(port, [ringing, declining], "parallel"))
    with (
        sipp_server(rejecting(declining, "603 Decline", tmp_path), tmp_path) as decliner,
        sipp_server(sipp_args("uas_ring.xml", port=ringing), tmp_path) as ringer,
    ):
        wait_listening("udp", declining)
        wait_listening("udp", ringing)
        result = run_sipp(
            [*sipp_args("uac_declined.xml", port=free_port()), f"127.0.0.1:{port}"], tmp_path
        )
        assert decliner.wait(timeout=30) == 0
        assert ringer.wait(timeout=30) == 0, "the ringing branch was cancelled"
    assert result.successful == 1, result.output
