"""The per-state answer cache: built once per state of the read models, bounded by bytes."""
from __future__ import annotations

from api.answer_cache import AnswerCache


class Builds:
    """A build function that counts its calls and may move the read models while it builds."""

    def __init__(self, state: list[int], body: bytes = b"x" * 10, moves_state: bool = False):
        self.state, self.body, self.moves_state, self.calls = state, body, moves_state, 0

    def __call__(self) -> bytes:
        self.calls += 1
        if self.moves_state:
            self.state[0] += 1
        return self.body


def test_an_answer_is_built_once_per_state_of_the_read_models():
    state = [1]
    cache = AnswerCache(lambda: (state[0],))
    build = Builds(state)
    first = cache.get("k", build)
    assert cache.get("k", build) is first and build.calls == 1
    state[0] = 2
    second = cache.get("k", build)
    assert build.calls == 2 and second.etag != first.etag


def test_an_answer_built_while_the_state_moved_is_filed_under_the_state_before():
    state = [1]
    cache = AnswerCache(lambda: (state[0],))
    build = Builds(state, moves_state=True)
    answer = cache.get("k", build)
    assert answer.etag != cache.etag("k")  # the state moved on: the next request builds anew
    cache.get("k", build)
    assert build.calls == 2


def test_the_cache_keeps_no_more_bytes_than_its_capacity():
    state = [1]
    cache = AnswerCache(lambda: (state[0],), capacity_bytes=25)
    builds = {key: Builds(state) for key in "abc"}
    for key in "abc":
        cache.get(key, builds[key])
    cache.get("a", builds["a"])  # a was the oldest of three 10-byte answers in 25 bytes: rebuilt
    assert builds["a"].calls == 2
    assert cache.get("c", builds["c"]) and builds["c"].calls == 1


def test_a_cache_of_no_bytes_builds_every_time_and_still_tags_answers():
    state = [1]
    cache = AnswerCache(lambda: (state[0],), capacity_bytes=0)
    build = Builds(state)
    assert cache.get("k", build).etag == cache.get("k", build).etag
    assert build.calls == 2


def test_nothing_found_is_not_cached():
    cache = AnswerCache(lambda: (1,))
    calls = []
    assert cache.get("k", lambda: calls.append(1)) is None
    assert cache.get("k", lambda: calls.append(1)) is None
    assert len(calls) == 2


def test_a_request_that_read_the_entity_tag_asks_the_read_models_state_once():
    state, asked = [1], []
    cache = AnswerCache(lambda: (asked.append(1), state[0])[1:])
    build = Builds(state)
    etag = cache.etag("k")
    answer = cache.get("k", build, etag)
    assert answer.etag == etag and len(asked) == 1
    assert cache.get("k", build, cache.etag("k")) is answer and build.calls == 1 and len(asked) == 2
