"""The isolated lab dockerd (single-node Docker Swarm) used by the integration tests.

Run it by hand with ``python -m tests.lab up|down|status|env``.
"""

from tests.lab.engine import DEFAULT_LAB_DIR, LAB_DIR_ENV, Lab
from tests.lab.host import LabError

__all__ = ["DEFAULT_LAB_DIR", "LAB_DIR_ENV", "Lab", "LabError"]
