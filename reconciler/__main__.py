"""``python -m reconciler``: the same entry point as the ``reconciler`` command."""

from reconciler.cli.app import main

if __name__ == "__main__":
    main()
