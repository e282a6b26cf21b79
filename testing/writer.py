"""A steady REST writer for delivery tests: creates, updates and deletes posts until told to stop."""

import asyncio
import random
from dataclasses import dataclass, field

import httpx


@dataclass
class PostWriter:
    http_urls: list[str]
    token: str
    interval_secs: float = 0.03
    statuses: list[int] = field(default_factory=list)
    live_ids: list[int] = field(default_factory=list)
    chooser: random.Random = field(default_factory=lambda: random.Random(1234))

    async def run(self, stop: asyncio.Event) -> None:
        clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in self.http_urls]
        headers = {"Authorization": f"Token {self.token}"}
        n = 0
        try:
            while not stop.is_set():
                api = clients[n % len(clients)]
                n += 1
                choice = self.chooser.random()
                if choice < 0.5 or len(self.live_ids) < 3:
                    response = await api.post(
                        "/api/posts/",
                        json={"title": f"w{n}", "published": self.chooser.random() < 0.8},
                        headers=headers,
                    )
                    if response.status_code == 201:
                        self.live_ids.append(response.json()["id"])
                elif choice < 0.85:
                    post_id = self.chooser.choice(self.live_ids)
                    response = await api.patch(
                        f"/api/posts/{post_id}/",
                        json={"title": f"w{n}", "published": self.chooser.random() < 0.8},
                        headers=headers,
                    )
                else:
                    post_id = self.live_ids.pop(self.chooser.randrange(len(self.live_ids)))
                    response = await api.delete(f"/api/posts/{post_id}/", headers=headers)
                self.statuses.append(response.status_code)
                await asyncio.sleep(self.interval_secs)
        finally:
            for client in clients:
                await client.aclose()

    def failures(self) -> list[int]:
        return [status for status in self.statuses if status >= 300]
