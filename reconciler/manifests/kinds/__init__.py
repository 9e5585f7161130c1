"""One module per manifest kind; ``reconciler.manifests.registry`` gathers them."""
