"""Stateful proxy (RFC 3261 §16): decides where each request goes, forks, and relays the
best answer back. Talks to the network only through :class:`trunkline.stack.SipStack`."""

from trunkline.proxy.proxy import Proxy

__all__ = ["Proxy"]
