"""Adapters that make The Vault the store of agent frameworks, each over the Python client.

Each module imports its framework, which is an extra of the package:
`pip install 'the-vault[langgraph]'` for vault.integrations.langgraph,
`pip install 'the-vault[adk]'` for vault.integrations.adk.
"""
