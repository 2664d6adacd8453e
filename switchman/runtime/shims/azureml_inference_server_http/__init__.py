"""Switchman shim of the azmlinfsrv scripting API (no Flask needed)."""

__version__ = "1.5.1"
