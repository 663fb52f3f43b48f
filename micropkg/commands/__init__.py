"""The two command surfaces: ``python -m micropkg`` (lock, mirror) and the ``%micropkg`` magic."""
