"""Optional components, switched on per environment (none yet)."""
