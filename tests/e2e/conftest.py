"""End-to-end tests share the integration tests' workspace fixtures (a reconciler instance and
name prefix per test, cleaned up afterwards) and the lab's Traefik."""

from tests.integration.conftest import busybox, ws

__all__ = ["busybox", "ws"]
