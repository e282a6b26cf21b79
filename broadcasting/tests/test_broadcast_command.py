import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.database]


async def test_broadcast_sends_a_custom_event_to_one_channel(listen):
    async with listen("users") as events:
        await sync_to_async(call_command)("broadcast", "users", "user_login", '{"user_id": 123}')
        frame = await events.next_frame()
    assert frame["type"] == "user_login" and frame["data"] == {"user_id": 123}


async def test_broadcast_all_sends_to_every_channel(listen):
    async with listen("users") as users_events, listen("posts") as posts_events:
        await sync_to_async(call_command)("broadcast", "--all", "maintenance", '{"message": "restart"}')
        assert (await users_events.next_frame())["data"] == {"message": "restart"}
        assert (await posts_events.next_frame())["data"] == {"message": "restart"}


@pytest.mark.parametrize(
    "args",
    [
        ("users", "user_login"),
        ("users", "user_login", "{not json"),
        ("nochannel", "x", "{}"),
        ("users", "created", "{}"),
        ("--all", "maintenance", "[1]"),
    ],
)
def test_broadcast_rejects_bad_arguments_with_a_clear_error(args):
    with pytest.raises(CommandError):
        call_command("broadcast", *args)
