"""Directories: where actor types, sessions, subsessions and handshakes are declared.

A :class:`Directory` only records factories; nothing runs until a runtime uses it.
``Skick`` is a directory too, so the same decorators work on both, and
``add_directory`` merges one into another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .exceptions import RegistrationError

__all__ = ["Directory", "Handshake"]

Factory = Callable[[Any, dict[str, Any]], Any]
F = TypeVar("F", bound=Factory)

FINAL_SUFFIX = ":final"


class Handshake:
    """A reusable opening sequence: ``@seq("name")`` declares a session behind it.

    Decorating ``fn`` with ``seq("logarithm")`` registers the session ``logarithm``
    (which runs the handshake's first stage) and the subsession ``logarithm:final``
    (which runs ``fn``); the last stage of the sequence replaces itself with
    ``f"{message['session_type']}:final"``.
    """

    def __init__(self, directory: Directory, name: str, factory: Factory) -> None:
        self.directory = directory
        self.name = name
        self.factory = factory

    def __call__(self, session_name: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self.directory._add("sessions", session_name, self.factory)
            self.directory._add("subsessions", session_name + FINAL_SUFFIX, fn)
            return fn

        return register

    def __repr__(self) -> str:
        return f"<Handshake {self.name!r}>"


class Directory:
    """Declarations of actor types and websocket sessions, to attach to a ``Skick``."""

    def __init__(self) -> None:
        self.actors: dict[str, Factory] = {}
        self.sessions: dict[str, Factory] = {}
        self.subsessions: dict[str, Factory] = {}
        self.handshakes: dict[str, Handshake] = {}
        self._on_new_actor_type: list[Callable[[], None]] = []

    def actor(self, name: str) -> Callable[[F], F]:
        """Declare the actor type *name*: ``@d.actor("x") def x(inst, message): …``."""
        return self._decorator("actors", name)

    def session(self, name: str) -> Callable[[F], F]:
        """Declare a session a client may request with ``{"session_type": name}``."""
        return self._decorator("sessions", name)

    def subsession(self, name: str) -> Callable[[F], F]:
        """Declare a subsession, reachable only by a session's ``replace``."""
        return self._decorator("subsessions", name)

    def handshake(self, name: str) -> Callable[[Factory], Handshake]:
        """Declare a handshake; the decorated function becomes a :class:`Handshake`."""

        def register(fn: Factory) -> Handshake:
            if name in self.handshakes:
                raise RegistrationError(f"handshake {name!r} is already declared")
            seq = Handshake(self, name, fn)
            self.handshakes[name] = seq
            return seq

        return register

    def add_directory(self, other: Directory) -> None:
        """Merge every declaration of *other* into this directory."""
        for kind in ("actors", "sessions", "subsessions"):
            for name, factory in getattr(other, kind).items():
                self._add(kind, name, factory)
        for name, seq in other.handshakes.items():
            if self.handshakes.get(name, seq) is not seq:
                raise RegistrationError(f"handshake {name!r} is already declared")
            self.handshakes[name] = seq

    def _decorator(self, kind: str, name: str) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self._add(kind, name, fn)
            return fn

        return register

    def _add(self, kind: str, name: str, factory: Factory) -> None:
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"a {kind[:-1]} name must be a non-empty string")
        table: dict[str, Factory] = getattr(self, kind)
        if table.get(name, factory) is not factory:
            raise RegistrationError(f"{kind[:-1]} {name!r} is already declared")
        table[name] = factory
        if kind == "actors":
            for listener in self._on_new_actor_type:
                listener()  # a running shard announces the new type to its peers
