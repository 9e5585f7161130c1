"""swarm-reconciler: desired-state manifests in, a converged Docker Swarm out.

The pipeline is visible in the subpackages: ``manifests`` (YAML to validated models) →
``render`` (what each kind becomes in Swarm) → ``state`` (essences, hashes, plans) → ``swarm``
(the Docker adapter) → ``engine`` (reconcile_once) → ``runtime`` (the controller) → ``cli``.
"""

__all__ = ["API_VERSION", "LABEL_PREFIX", "__version__"]

__version__ = "0.1.0"
API_VERSION = "reconciler.swarm/v1alpha1"
LABEL_PREFIX = "reconciler.swarm/"
