"""The app starts on a fresh database and answers its liveness check."""

from tests.conftest import create_session


async def test_health(client):
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "healthy",
        "service": "storage_service",
        "version": "0.1.0",
        "backend": "sqlite",
        "backends": {"database": "sqlite", "cache": "database", "state": "database", "artifacts": "filesystem"},
    }


async def test_session_round_trip(client):
    session = await create_session(client, user_id="u1")
    response = await client.get(f"/storage/sessions/{session['id']}")
    assert response.status == 200
    assert await response.json() == session
