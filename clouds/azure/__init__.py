"""The Azure target's pieces: the environment's Azure context and what AKS brings to
components that use Azure services (Blob storage through workload identity)."""
