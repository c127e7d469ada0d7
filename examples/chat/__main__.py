"""``python -m examples.chat``: the bot demo; ``--serve``: the chat with its page."""

from . import main

main()
