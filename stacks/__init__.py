"""The Pulumi program: typed configuration, targets, and the composition in `__main__.py`."""
