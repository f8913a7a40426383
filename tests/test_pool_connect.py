"""Opening TCP connections (``llmring._pool.connect``): real sockets on loopback, both backends.

A "black hole" is a listener whose accept queue is full: the kernel then drops new SYNs, so a
connect to it stays pending, as to a host that does not answer.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import anyio
import pytest

from llmring._pool import connect
from llmring._pool.connect import ATTEMPT_DELAY, connect_tcp

pytestmark = pytest.mark.anyio


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server
    server.close()


# One per module: making it takes 0.25 s (the probe must time out), and the tests only add
# pending connects that the kernel drops, closing their own sockets (they check that).
@pytest.fixture(scope="module")
def black_hole() -> Iterator[tuple[str, int]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(8):  # fill the accept queue (backlog 0 holds one or two on Linux)
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.05)
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        probe.connect(address)
    except OSError:
        pass
    else:
        pytest.skip("this kernel accepts past a full accept queue: no black hole to test with")
    finally:
        probe.close()
    yield address
    for filler in fillers:
        filler.close()
    server.close()


def _refused_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()  # nobody listens there now: a connect is refused at once
    return port


def _v4(port: int) -> tuple[int, tuple[object, ...]]:
    return (socket.AF_INET, ("127.0.0.1", port))


async def test_an_ip_literal_connects_with_no_delay(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    stream = await connect_tcp("127.0.0.1", port)
    async with stream:
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
        assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        accepted, _ = listener.accept()
        accepted.sendall(b"hello")
        assert await stream.receive() == b"hello"
        accepted.close()


async def test_a_host_name_is_resolved(listener: socket.socket) -> None:
    # "localhost" may resolve to ::1 first, where nobody listens: refused, then 127.0.0.1.
    stream = await connect_tcp("localhost", listener.getsockname()[1])
    await stream.aclose()


async def test_a_refused_address_moves_on_to_the_next_at_once(listener: socket.socket) -> None:
    addresses = [_v4(_refused_port()), _v4(listener.getsockname()[1])]
    start = time.monotonic()
    sock = await connect._connect_any(addresses)
    assert time.monotonic() - start < ATTEMPT_DELAY
    assert sock.getpeername()[1] == listener.getsockname()[1]
    sock.close()


async def test_a_silent_address_is_raced_by_the_next_after_the_delay(
    black_hole: tuple[str, int], listener: socket.socket
) -> None:
    before = _open_fds()
    start = time.monotonic()
    sock = await connect._connect_any([_v4(black_hole[1]), _v4(listener.getsockname()[1])])
    elapsed = time.monotonic() - start
    assert sock.getpeername()[1] == listener.getsockname()[1]
    assert ATTEMPT_DELAY * 0.9 <= elapsed < ATTEMPT_DELAY + 1.0
    sock.close()
    assert _open_fds() == before  # the pending attempt's socket was closed


async def test_every_address_failing_names_each_failure() -> None:
    addresses = [_v4(_refused_port()), _v4(_refused_port())]
    with pytest.raises(OSError, match=r"all 2 addresses failed: .*refused") as caught:
        await connect._connect_any(addresses)
    assert str(caught.value).count("127.0.0.1:") == 2


async def test_one_refused_address_is_that_error() -> None:
    with pytest.raises(ConnectionRefusedError, match=r"127\.0\.0\.1:"):
        await connect_tcp("127.0.0.1", _refused_port())


async def test_cancelling_a_race_closes_every_socket(black_hole: tuple[str, int]) -> None:
    before = _open_fds()
    with anyio.move_on_after(ATTEMPT_DELAY * 2) as scope:
        await connect._connect_any([_v4(black_hole[1]), _v4(black_hole[1])])
    assert scope.cancelled_caught
    assert _open_fds() == before


async def test_cancelling_the_first_attempt_closes_its_socket(black_hole: tuple[str, int]) -> None:
    before = _open_fds()
    with anyio.move_on_after(0.05) as scope:
        await connect_tcp(*black_hole)
    assert scope.cancelled_caught
    assert _open_fds() == before


def test_addresses_alternate_families_from_the_first() -> None:
    v6 = [(socket.AF_INET6, (f"::{i}", 1, 0, 0)) for i in range(1, 4)]
    v4 = [(socket.AF_INET, (f"10.0.0.{i}", 1)) for i in range(1, 3)]
    mixed = connect._interleaved(v6 + v4)
    assert [a[1][0] for a in mixed] == ["::1", "10.0.0.1", "::2", "10.0.0.2", "::3"]
    assert connect._interleaved([]) == []
