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
