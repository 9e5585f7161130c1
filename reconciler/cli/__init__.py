"""The ``reconciler`` command: thin click commands over the library, and the views that print.

The only package that imports click and rich.
"""
