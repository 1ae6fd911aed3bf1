"""Loopback fakes of the services agents call (no network)."""
