"""Pure data of the pipeline: essences and their hashes, field diffs, and plans. No I/O.

The engine fills these from a ``ManifestSet`` (desired) and a Swarm snapshot (observed); views
render them.
"""
