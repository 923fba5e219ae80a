"""Storage: the store interface, its backends, migrations and blobs."""
