"""Directories: declarations only, merged into a runtime or a ``Skick``."""

from __future__ import annotations

from typing import Any

import pytest

from skick_core import Directory, Handshake, RegistrationError


def factory(inst: Any, message: dict[str, Any]) -> None:
    pass


def other_factory(inst: Any, message: dict[str, Any]) -> None:
    pass


def test_decorators_record_and_return_the_function() -> None:
    d = Directory()
    assert d.actor("a")(factory) is factory
    assert d.session("s")(factory) is factory
    assert d.subsession("sub")(factory) is factory
    assert d.actors == {"a": factory}
    assert d.sessions == {"s": factory}
    assert d.subsessions == {"sub": factory}
    d.actor("a")(factory)  # the same function again is fine


@pytest.mark.parametrize("kind", ["actor", "session", "subsession"])
def test_duplicate_names_are_refused(kind: str) -> None:
    d = Directory()
    getattr(d, kind)("x")(factory)
    with pytest.raises(RegistrationError, match="'x'"):
        getattr(d, kind)("x")(other_factory)


@pytest.mark.parametrize("name", ["", None, 3])
def test_names_must_be_non_empty_strings(name: Any) -> None:
    with pytest.raises(RegistrationError):
        Directory().actor(name)(factory)


def test_handshake_declares_a_session_and_its_final_subsession() -> None:
    d = Directory()
    seq = d.handshake("random_number")(factory)
    assert isinstance(seq, Handshake)
    assert "random_number" in repr(seq)
    assert seq("logarithm")(other_factory) is other_factory
    assert d.sessions == {"logarithm": factory}
    assert d.subsessions == {"logarithm:final": other_factory}
    assert d.handshakes == {"random_number": seq}
    with pytest.raises(RegistrationError):
        d.handshake("random_number")(factory)


def test_add_directory_merges_and_detects_conflicts() -> None:
    a = Directory()
    a.actor("a_actor")(factory)
    a.session("a_session")(factory)
    seq = a.handshake("hs")(factory)
    main = Directory()
    main.add_directory(a)
    main.add_directory(a)  # merging the same declarations twice is harmless
    assert main.actors == {"a_actor": factory}
    assert main.sessions == {"a_session": factory}
    assert main.handshakes == {"hs": seq}
    clash = Directory()
    clash.actor("a_actor")(other_factory)
    with pytest.raises(RegistrationError):
        main.add_directory(clash)
    clash_hs = Directory()
    clash_hs.handshake("hs")(factory)
    with pytest.raises(RegistrationError):
        main.add_directory(clash_hs)
