"""The Vault: the persistence sidecar of an agent platform."""

__version__ = "0.1.0"
