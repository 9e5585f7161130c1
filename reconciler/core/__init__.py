"""The vocabulary every layer shares: resource keys, the labels the reconciler writes on Swarm
objects, and content hashes. No I/O, no dependencies on the rest of the package."""
