"""The API docs pages (drf-spectacular) are served offline: nothing they load is fetched from the internet."""

import re

import pytest


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_docs_pages_load_nothing_from_other_hosts(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert not re.findall(r"""(?:src|href)=["']https?://""", page), page
    assert "googleapis" not in page


@pytest.mark.django_db
def test_a_path_under_api_that_no_route_matches_is_a_json_404_as_documented(client, settings):
    settings.DEBUG = False  # handler404 is used with DEBUG off, as in production
    response = client.delete("/api/posts/1.5/")  # the router takes no dot in an id
    assert (response.status_code, response["Content-Type"], response.json()) == (
        404, "application/json", {"detail": "Not found."}
    )  # fmt: skip
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
