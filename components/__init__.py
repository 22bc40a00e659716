"""Plinth's core components: one `pulumi.ComponentResource` per module."""
