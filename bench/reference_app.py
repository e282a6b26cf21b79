"""
The FastAPI guide's design, written from the guide (shared with the project as "the
FastAPI guide") for the benchmark to measure this project against, in one sitting.

What the guide describes, and nothing more: a ConnectionManager holding a dict of
channels, each a dict of client_id -> WebSocket in this process; ChannelManager's
broadcast_created/updated/deleted send ``{"type", "model", "channel", "timestamp",
"data"}`` to every socket of the channel, awaiting each send in turn, after the
service has committed the row; ``/ws/{channel}`` answers ping and get_stats;
``/ws/stats`` counts. Users are stored in SQLite (the guide's SQLModel session, here
the standard library's sqlite3: the same commit, less code). One process only: the
sockets live in its memory.

Run:  uvicorn bench.reference_app:app --port 8100   (REFERENCE_DB=path, default a temp file)
"""

import os
import sqlite3
import tempfile
import uuid
from datetime import datetime

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel


class ConnectionManager:
    """Generic manager: channels of client_id -> WebSocket, in this process."""

    def __init__(self) -> None:
        self.active_connections: dict[str, dict[str, WebSocket]] = {}

    async def connect(self, websocket: WebSocket, channel: str, client_id: str) -> None:
        await websocket.accept()
        self.active_connections.setdefault(channel, {})[client_id] = websocket
        await websocket.send_json(
            {
                "type": "connection",
                "message": f"Connected to channel: {channel}",
                "channel": channel,
                "client_id": client_id,
                "timestamp": datetime.utcnow().isoformat(),
            }
        )

    def disconnect(self, channel: str, client_id: str) -> None:
        self.active_connections.get(channel, {}).pop(client_id, None)
        if not self.active_connections.get(channel):
            self.active_connections.pop(channel, None)

    async def broadcast(self, channel: str, message: dict, exclude_client: str | None = None) -> None:
        dead = []
        for client_id, websocket in list(self.active_connections.get(channel, {}).items()):
            if client_id == exclude_client:
                continue
            try:
                await websocket.send_json(message)
            except Exception:
                dead.append(client_id)
        for client_id in dead:
            self.disconnect(channel, client_id)

    async def broadcast_to_all_channels(self, message: dict) -> None:
        for channel in list(self.active_connections):
            await self.broadcast(channel, message)

    def stats(self) -> dict:
        channels = {channel: len(sockets) for channel, sockets in self.active_connections.items()}
        return {"total_channels": len(channels), "channels": channels, "total_connections": sum(channels.values())}


class ChannelManager:
    """One model's channel: the guide's broadcast_created/updated/deleted/custom."""

    def __init__(self, manager: ConnectionManager, channel: str) -> None:
        self.manager = manager
        self.channel = channel

    def _event(self, event_type: str, data: dict) -> dict:
        return {
            "type": event_type,
            "model": self.channel,
            "channel": self.channel,
            "timestamp": datetime.utcnow().isoformat(),
            "data": data,
        }

    async def broadcast_created(self, data: dict, exclude_client: str | None = None) -> None:
        await self.manager.broadcast(self.channel, self._event("created", data), exclude_client)

    async def broadcast_updated(self, data: dict, exclude_client: str | None = None) -> None:
        await self.manager.broadcast(self.channel, self._event("updated", data), exclude_client)

    async def broadcast_deleted(self, object_id: int, exclude_client: str | None = None) -> None:
        await self.manager.broadcast(self.channel, self._event("deleted", {"id": object_id}), exclude_client)


connection_manager = ConnectionManager()
users_channel = ChannelManager(connection_manager, "users")
VALID_CHANNELS = ["users", "posts"]

DB_PATH = os.environ.get("REFERENCE_DB") or os.path.join(tempfile.mkdtemp(), "reference.sqlite3")
db = sqlite3.connect(DB_PATH, check_same_thread=False)
db.execute(
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT, "
    "is_active INTEGER, created_at TEXT)"
)
db.commit()

app = FastAPI()


class UserCreate(BaseModel):
    email: str
    name: str


@app.post("/users/", status_code=201)
async def create_user(user: UserCreate) -> dict:
    created_at = datetime.utcnow().isoformat()
    cursor = db.execute(
        "INSERT INTO users (email, name, is_active, created_at) VALUES (?, ?, 1, ?)",
        (user.email, user.name, created_at),
    )
    db.commit()
    data = {"id": cursor.lastrowid, "email": user.email, "name": user.name, "is_active": True, "created_at": created_at}
    await users_channel.broadcast_created(data)
    return data


@app.get("/ws/stats")
async def stats() -> dict:
    return connection_manager.stats()


@app.websocket("/ws/{channel}")
async def websocket_endpoint(websocket: WebSocket, channel: str, client_id: str | None = None) -> None:
    if channel not in VALID_CHANNELS:
        await websocket.close(code=4004)
        return
    client_id = client_id or str(uuid.uuid4())
    await connection_manager.connect(websocket, channel, client_id)
    try:
        while True:
            message = await websocket.receive_json()
            if message.get("type") == "ping":
                await websocket.send_json({"type": "pong", "message": "pong"})
            elif message.get("type") == "get_stats":
                await websocket.send_json({"type": "stats", "data": connection_manager.stats()})
    except WebSocketDisconnect:
        connection_manager.disconnect(channel, client_id)
