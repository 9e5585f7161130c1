"""Importing what exists into manifests: compose files (``import compose``) and a live swarm
(``import swarm``). Sits between the CLI and the runtime: it reads through the Swarm port and
re-uses the renderers and the state layer to check that what it writes means what it read."""
