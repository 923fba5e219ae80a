"""Vault-Min-LSN on SQLite: checked, then ignored (there is one database); no Vault-Commit-LSN."""

from __future__ import annotations

from tests.conftest import create_session


# Rule: bad input is a 4xx naming the header, never a 500.
async def test_a_vault_min_lsn_that_is_no_wal_position_is_a_422(client):
    session = await create_session(client)
    response = await client.get(f"/storage/sessions/{session['id']}", headers={"Vault-Min-LSN": "yesterday"})
    assert response.status == 422
    body = await response.json()
    assert body["errors"][0]["loc"] == ["header", "Vault-Min-LSN"]


async def test_on_sqlite_a_vault_min_lsn_is_ignored_and_writes_name_no_position(client):
    response = await client.post("/storage/sessions", json={"agent_name": "a"})
    assert response.status == 201
    assert "Vault-Commit-LSN" not in response.headers
    session_id = (await response.json())["id"]
    read = await client.get(f"/storage/sessions/{session_id}", headers={"Vault-Min-LSN": "FF/0"})
    assert read.status == 200


# Rule: a method a route does not take is a 405, whatever the headers.
async def test_an_unknown_method_is_a_405_before_the_header_is_read(client):
    response = await client.request("TRACE", "/health", headers={"Vault-Min-LSN": "0"})
    assert response.status == 405
