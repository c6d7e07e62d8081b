"""Trunkline: a SIP trunking Session Border Controller and softswitch."""

__version__ = "0.1.0"
