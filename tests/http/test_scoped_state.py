"""State of an app and of a user within it over HTTP: ETag, If-Match, merge patch, scopes apart."""

from __future__ import annotations

APP = "/storage/state/apps/travel"
USER = "/storage/state/apps/travel/users/u1"


async def test_an_unwritten_scope_reads_as_empty_version_zero(client):
    response = await client.get(USER)

    assert response.status == 200
    assert response.headers["ETag"] == '"0"'
    assert await response.json() == {
        "app_name": "travel",
        "user_id": "u1",
        "data": {},
        "version": 0,
        "updated_at": None,
    }


async def test_put_patch_and_delete_with_versions(client):
    put = await client.put(APP, json={"data": {"a": 1, "b": 2}})
    patched = await client.patch(APP, json={"data": {"b": None, "c": 3}}, headers={"If-Match": put.headers["ETag"]})
    stale = await client.patch(APP, json={"data": {"d": 4}}, headers={"If-Match": put.headers["ETag"]})
    deleted = await client.delete(APP, headers={"If-Match": '"2"'})

    assert (await patched.json())["data"] == {"a": 1, "c": 3}
    assert stale.status == 412
    assert (await stale.json())["current"]["data"] == {"a": 1, "c": 3}
    assert (await deleted.json())["data"] == {}
    assert deleted.headers["ETag"] == '"3"'
    assert (await (await client.get(USER)).json())["version"] == 0


async def test_a_user_scope_is_apart_from_its_app_and_from_other_apps(client):
    await client.put(USER, json={"data": {"who": "u1"}})

    assert (await (await client.get(APP)).json())["data"] == {}
    assert (await (await client.get("/storage/state/apps/other/users/u1")).json())["data"] == {}
    assert (await (await client.get(USER)).json())["data"] == {"who": "u1"}
