from vault.cli import run

run()
