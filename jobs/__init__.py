"""Scheduled jobs: plain async functions over store methods."""
