"""Rules over the Istio service mesh: mutual TLS is STRICT mesh-wide, and nothing lowers it."""
