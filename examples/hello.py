"""The guide's hello world: a websocket session that greets.

Run it with ``hatch run python examples/hello.py`` and connect a websocket client to
``ws://localhost:8000``::

    Client: {"session_type": "hello"}
    Server: {"greeting": "Hello, use the action 'greet' to receive a greeting"}
    Client: {"action": "greet"}
    Server: {"greeting": "Hello good sir"}
"""

from typing import Any

from skick import Skick
from skick_ws import SessionActor

skick = Skick()


@skick.session("hello")
def hello_world(inst: SessionActor, message: dict[str, Any]) -> None:
    """A hello world type user session"""

    @inst.on_start
    async def on_start() -> None:
        await inst.socksend({"greeting": "Hello, use the action 'greet' to receive a greeting"})

    @inst.socket("greet", {"action": "greet"})
    async def greet(msg: dict[str, Any]) -> None:
        await inst.socksend({"greeting": "Hello good sir"})


if __name__ == "__main__":
    skick.start()
