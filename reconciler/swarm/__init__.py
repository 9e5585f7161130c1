"""The Swarm adapter: the only package that imports ``docker``.

``port`` says what the engine needs from a swarm (a Protocol, the snapshot type and the errors);
``docker_api`` implements it over the Engine API, normally through the socket proxy.
"""
