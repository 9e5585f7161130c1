"""What each manifest kind becomes in Swarm: API specs, Traefik labels, keepalived.conf.

Pure functions of a ``ManifestSet``; no I/O. Called by ``reconciler state`` (desired state) and by
``reconciler render``.
"""
