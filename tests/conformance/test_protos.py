"""PROTOS c07-sip (4527 INVITEs, case 0 valid): the parser must return or raise ParseError, fast.

The material is not in the repository (GPLv2, 37 MB): set ``TRUNKLINE_PROTOS_DIR`` to the
folder that holds ``cases/`` (``.ci/run`` sets it to ``../shared/conformance/protos``).
PROTOS judges robustness only; which cases a parser accepts is not its verdict.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from protos import CASE_COUNT, ENV_VAR, cases_dir, fill, iter_cases, load_case, read_records

from trunkline.sip.error_answer import error_response
from trunkline.sip.errors import ParseError
from trunkline.sip.message import Request
from trunkline.sip.parser import parse_message

# A robustness bound, not a performance test: a case taking this long means something is
# quadratic or worse on hostile input.
MAX_SECONDS_PER_CASE = 0.050
PROPERTIES = ("vias", "contacts", "routes", "record_routes", "from_", "to", "uri", "cseq")


@pytest.fixture(scope="module")
def directory() -> Path:
    path = cases_dir()
    if path is None:
        pytest.skip(
            f"PROTOS c07-sip material not available: set {ENV_VAR} to the folder with cases/"
        )
    return path


def test_fill_substitutes_every_placeholder() -> None:
    template = (
        b"INVITE sip:<To> SIP/2.0\r\nVia: SIP/2.0/UDP <From-Address>:<Local-Port>;"
        b"branch=z9hG4bK<Branch-ID>\r\nFrom: <sip:<From>>\r\nCall-ID: <Call-ID>\r\n"
        b"CSeq: <CSeq> <Teardown-Method>\r\nContent-Length: <Content-Length>\r\n\r\n"
        b"c=IN IP4 <From-IP>\r\n"
    )
    data = fill(template, 7)
    assert b"<" + b"To>" not in data and b"<Content-Length>" not in data
    body = data.split(b"\r\n\r\n", 1)[1]
    assert body == b"c=IN IP4 127.0.0.1\r\n"
    assert b"Content-Length: %d\r\n" % len(body) in data
    assert b"CSeq: 8 CANCEL" in data


def test_read_records() -> None:
    assert read_records(b"3 abc2 de") == (b"abc", b"de")
    with pytest.raises(ValueError):
        read_records(b"3 abc")


def test_case_zero_is_a_valid_invite(directory: Path) -> None:
    invite, teardown = load_case(directory, 0)
    msg = parse_message(invite)
    assert isinstance(msg, Request) and msg.method == "INVITE"
    msg.validate()
    assert msg.content_length == len(msg.body) > 0
    cancel = parse_message(teardown)
    assert isinstance(cancel, Request) and cancel.method == "CANCEL"
    cancel.validate()


def _robust(data: bytes) -> str:
    """Parse, validate, read every property: only ParseError may come out."""
    try:
        msg = parse_message(data)
    except ParseError as exc:
        answer = error_response(exc)
        if answer is not None:
            parse_message(answer)  # our own answer must be well-formed
        return "rejected"
    for name in PROPERTIES:
        try:
            getattr(msg, name, None)
        except ParseError:
            pass
    if isinstance(msg, Request):
        try:
            msg.validate()
        except ParseError:
            return "invalid"
    return "accepted"


def test_every_case_parses_or_raises_parse_error_quickly(directory: Path) -> None:
    seen = 0
    worst = (0.0, -1)
    outcomes: dict[str, int] = {}
    for case, invite, teardown in iter_cases(directory):
        for data in (invite, teardown):
            start = time.perf_counter()
            outcome = _robust(data)
            elapsed = time.perf_counter() - start
            worst = max(worst, (elapsed, case))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        seen += 1
    assert seen == CASE_COUNT
    assert worst[0] < MAX_SECONDS_PER_CASE, f"case {worst[1]} took {worst[0] * 1000:.1f} ms"
    # Most malformed INVITEs are caught by the parser or by validate(); the counts would
    # only move if a whole class of checks disappeared.
    assert outcomes["rejected"] + outcomes["invalid"] > 1000
