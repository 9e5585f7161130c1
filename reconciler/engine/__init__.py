"""Planning, applying and ``reconcile_once``: the one code path behind ``diff``, ``apply`` and the
controller. Talks to Swarm only through ``reconciler.swarm.port.SwarmPort``; never prints, it emits
events that views render.
"""
