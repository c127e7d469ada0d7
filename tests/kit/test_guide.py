"""The guide's session examples, tested through the kit, in memory and over a real socket.

Every class is marked ``skick_both``: each test runs twice, ``[memory]`` and
``[socket]``, through the plugin's ``skick_kit`` fixture, with the class's app.
"""

from __future__ import annotations

import math

import pytest

from skick import Skick
from skick.testing import ANY, Kit, Probe, Query
from tests.kit.apps import GDPR_STRING, GREETING, curious_app, hello_app, logarithm_app


@pytest.mark.skick_both
class TestHello:
    @pytest.fixture
    def skick_app(self) -> Skick:
        return hello_app()

    async def test_the_guides_interaction(self, skick_kit: Kit) -> None:
        client = await skick_kit.connect("hello")
        await client.expect(GREETING)
        assert await client.ask({"action": "greet"}) == {"greeting": "Hello good sir"}
        await client.send({"action": "greet"})
        await client.expect({"greeting": "Hello good sir"})
        await client.expect_nothing()

    async def test_only_greet_is_accepted(self, skick_kit: Kit) -> None:
        async with skick_kit.connect("hello") as client:
            await client.send({"action": "greet", "extra": 1})
            await client.expect_error("schema")
            await client.send({"action": "wave"})
            await client.expect_error("unknown_action", detail="no action 'wave' in this session")
            await client.expect(GREETING)  # it came first, and waited for us
        assert client.close_code == 1000


@pytest.mark.skick_both
class TestHandshakeSequence:
    @pytest.fixture
    def skick_app(self) -> Skick:
        return logarithm_app()

    async def test_logarithm_after_the_handshake(self, skick_kit: Kit) -> None:
        client = await skick_kit.connect("logarithm")
        first = await client.ask({"action": "log", "x": 8.0}, {"x": 8.0})
        second = await client.ask({"action": "log", "x": 64.0}, {"x": 64.0})
        # log_b(64) = 2 log_b(8), whatever the random base was.
        assert math.isclose(second["log_base(x)"], 2 * first["log_base(x)"])
        await client.ask({"action": "log", "x": 1.0}, {"log_base(x)": 0.0, "x": 1.0})
        await client.send({"action": "log", "x": 8})  # an int is not a float
        await client.expect_error("schema")
        await client.expect_nothing()

    @pytest.mark.parametrize("name", ["random_number", "double_number", "logarithm:final"])
    async def test_stages_are_not_sessions(self, skick_kit: Kit, name: str) -> None:
        client = await skick_kit.connect(name)
        await client.expect_error("unknown_session")
        await client.expect_close(1008, "unknown_session")


@pytest.mark.skick_both
class TestCuriousWithTheInfoActor:
    """The app as written: its on_start spawns the info actor."""

    @pytest.fixture
    def skick_app(self) -> Skick:
        return curious_app()

    @pytest.mark.parametrize(
        ("consent", "expected"), [(True, {"secret": 42}), (False, {"error": "terms not accepted"})]
    )
    async def test_the_query_decides(
        self, skick_kit: Kit, consent: bool, expected: dict[str, object]
    ) -> None:
        client = await skick_kit.connect("curious", credentials="new user")
        await client.send({"action": "get_information"})
        query = await client.expect_query({"gdpr_query": GDPR_STRING}, schema="bool")
        await query.reply("yes")  # not a bool: refused, the query stays open
        await client.expect_error("bad_query_reply", query_id=query.id)
        await query.reply(consent)
        await client.expect(expected)
        await query.reply(consent)  # answered already
        await client.expect_error("unknown_query")
        await client.expect_nothing()

    async def test_a_known_user_is_not_asked(self, skick_kit: Kit) -> None:
        client = await skick_kit.connect("curious", credentials="old user")
        client.answer_queries(True)
        assert await client.ask({"action": "get_information"}) == {"secret": 42}
        assert client.queries == []

    async def test_queries_answered_by_a_function(self, skick_kit: Kit) -> None:
        async def consent(query: Query) -> bool:
            return "accept" in query.message["gdpr_query"]

        clients = [await skick_kit.connect("curious") for _ in range(3)]
        for client in clients:
            client.answer_queries(consent)
            await client.send({"action": "get_information"})
        for client in clients:
            await client.expect({"secret": 42})
            assert [(q.schema, q.answer) for q in client.queries] == [("bool", True)]


@pytest.mark.skick_both
class TestCuriousWithAProbe:
    """The probe plays the info actor: the test decides what it answers."""

    @pytest.fixture
    def skick_app(self) -> Skick:
        return curious_app(with_info_actor=False)

    async def test_call_then_query(self, skick_kit: Kit, probe: Probe) -> None:
        probe.register_service("info")
        client = await skick_kit.connect("curious", credentials="new user")
        await client.send({"action": "get_information"})
        call = await probe.expect({"action": "info", "credentials": "new user"})
        await probe.reply(call, {"ask_gdpr": True, "info": {"secret": 7}})
        query = await client.expect_query({"gdpr_query": ANY}, schema="bool")
        await query.reply(True)
        await client.expect({"secret": 7})

    async def test_the_info_actor_never_answers(self, skick_kit: Kit, probe: Probe) -> None:
        probe.register_service("info")
        client = await skick_kit.connect("curious")
        await client.send({"action": "get_information"})
        await probe.expect({"action": "info"})  # … and the probe says nothing
        await client.expect_nothing(within=0.2)
        session = client.session
        assert session is not None
        await probe.monitor(session.back_address)
        await client.close()
        await probe.expect_sentinel(session.back_address, type="cancellation")
