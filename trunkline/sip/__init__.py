"""Sans-IO SIP core: messages, URIs, headers, SDP, digest, transactions and dialogs.

Nothing here does I/O or reads a clock: bytes and ``now`` come in, messages, events and
datagrams go out. Nothing here imports from the rest of Trunkline.
"""

from trunkline.sip.errors import FramingError, ParseError, SipError

__all__ = ["FramingError", "ParseError", "SipError"]
