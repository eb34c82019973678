"""The server's kept answers: one build for many askers, a bound on memory, HTTP validators."""

from __future__ import annotations

import gzip
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gridmap.api.cache import ResponseCache, _accepts_gzip, _holds, packed


def test_a_value_asked_by_many_at_once_is_built_once():
    cache, built = ResponseCache(), []

    def make():
        built.append(threading.get_ident())
        time.sleep(0.2)
        return "body"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: cache.get("k", make), range(8)))
    assert answers == ["body"] * 8 and len(built) == 1
    assert cache.misses == 1 and cache.hits == 7


def test_a_failed_build_is_not_kept_and_the_next_asker_builds_again():
    cache, calls = ResponseCache(), []

    def failing():
        calls.append(1)
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("k", failing)
    assert cache.get("k", lambda: "now") == "now" and len(calls) == 1


def test_values_beyond_the_byte_bound_leave_least_recently_used_first():
    cache = ResponseCache(size=100, max_bytes=3100)
    # 1,000 bytes that do not compress: about 1,020 kept for each
    bodies = {k: packed(random.Random(k).randbytes(1000)) for k in "abcd"}
    for k in "abc":
        cache.get(k, lambda k=k: bodies[k])
    cache.get("a", lambda: pytest.fail("a is kept"))  # a is now the most recently used
    cache.get("d", lambda: bodies["d"])
    kept = [k for k in "abcd" if cache.get(k, lambda: None) is not None]
    assert "b" not in kept and "a" in kept and "d" in kept


def test_a_packed_body_is_gzipped_once_with_a_weak_etag_of_its_bytes():
    body = packed('{"a":' + "1" * 5000 + "}")
    assert gzip.decompress(body.gzipped) == body.raw
    assert body.nbytes == len(body.gzipped) < len(body.raw) / 10  # kept gzipped only
    assert body.etag == packed(body.raw).etag != packed(body.raw + b" ").etag
    assert body.etag.startswith('W/"') and packed("{}").gzipped is None  # too small to gzip


@pytest.mark.parametrize(
    ("header", "accepted"),
    [("gzip", True), ("gzip, deflate, br", True), ("GZIP", True), ("gzip;q=0.5", True),
     ("br;q=1, gzip;q=0", False), ("gzip;q=0.0", False), ("identity", False), ("", False)],
)  # fmt: skip
def test_gzip_is_sent_only_to_clients_accepting_it(header, accepted):
    assert _accepts_gzip(header) is accepted


def test_if_none_match_compares_weakly_and_knows_star_and_lists():
    assert _holds('W/"ab"', 'W/"ab"') and _holds('"ab"', 'W/"ab"')
    assert _holds('"x", W/"ab"', 'W/"ab"') and _holds("*", 'W/"ab"')
    assert not _holds("", 'W/"ab"') and not _holds('"a"', 'W/"ab"')


def test_a_slow_value_is_built_in_the_background_while_askers_go_on():
    cache, started, release = ResponseCache(), threading.Event(), threading.Event()

    def make():
        started.set()
        release.wait(10)
        return "drawn"

    assert cache.peek_or_build("k", make) is None  # not kept: the asker answers for itself
    assert started.wait(10)
    assert cache.peek_or_build("k", lambda: pytest.fail("built twice")) is None  # still building
    release.set()
    deadline = time.monotonic() + 10
    while (value := cache.peek_or_build("k", make)) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert value == "drawn" and cache.misses == 1


def test_the_data_version_moves_with_data_and_not_with_logins_or_looks(engine):
    """A login, a look at personal data or a token is written to the change log; it changes
    nothing kept, so the kept answers (and the drawn tiles) stay."""
    from gridmap.api.cache import data_version
    from gridmap.store.db import transaction
    from gridmap.store.features import log_change
    from gridmap.store.models.log import AUDIT_ONLY

    with transaction(engine) as conn:
        log_change(conn, "测试", "import", "building", {"features": 1})
        before = data_version(conn)
        for action in sorted(AUDIT_ONLY):
            log_change(conn, "测试", action, None, {})
        assert data_version(conn) == before
        log_change(conn, "测试", "plan_approve", "grid:party", {})
        assert data_version(conn) > before
