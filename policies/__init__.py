"""Plinth's CrossGuard policy pack: rules by area, importable without starting the pack.

`policies/__main__.py` builds the `PolicyPack` (which starts Pulumi's gRPC server and
blocks), so nothing here may build it on import. `plinth check` imports `RULES` from
`policies.registry` and runs them in-process.
"""
