"""The loopback server itself (tests/loopback/), seen from plain httpx: it does what the
``Reply`` says, so a timing or pool test that uses it tests llmring and not the server."""

from __future__ import annotations

import json
import threading

import anyio
import httpx
import pytest

from tests.loopback import Reply, serve, serve_in_thread, streamed

pytestmark = pytest.mark.anyio


async def test_a_chunked_reply_with_pauses_and_what_the_server_keeps() -> None:
    reply = Reply(201, {"x-id": "7"}, [b"one\n", 0.05, b"two\n"], content_type="text/plain")
    async with serve(reply) as server, httpx.AsyncClient() as client:
        began = anyio.current_time()
        async with client.stream("POST", server.url + "/v1/chat?alt=sse", json={"n": 1}) as got:
            pieces = [piece async for piece in got.aiter_raw()]
        took = anyio.current_time() - began
    assert (got.status_code, got.headers["x-id"], got.headers["content-type"]) == (
        201,
        "7",
        "text/plain",
    )
    assert got.headers["transfer-encoding"] == "chunked"
    assert pieces == [b"one\n", b"two\n"]
    assert took >= 0.05
    [request] = server.requests
    assert (request.method, request.path, request.line) == (
        "POST",
        "/v1/chat?alt=sse",
        "POST /v1/chat?alt=sse HTTP/1.1",
    )
    assert (request.json(), request.headers["content-type"]) == ({"n": 1}, "application/json")
    assert (request.completed, request.client_left, server.client_gone.is_set()) == (
        True,
        False,
        False,
    )


async def test_keep_alive_and_a_server_that_ends_it() -> None:
    reply = Reply(body=[b"ok"], framing="length")
    for per_connection, opened in ((None, 1), (2, 2)):
        async with (
            serve(reply, requests_per_connection=per_connection) as server,
            httpx.AsyncClient() as client,
        ):
            for sent in range(1, 4):
                got = await client.post(server.url)
                assert (got.content, got.headers["content-length"]) == (b"ok", "2")
                with anyio.fail_after(5):  # httpx does not resend on a connection closed under it
                    while per_connection and server.closed < sent // per_connection:  # noqa: ASYNC110
                        await anyio.sleep(0.005)
            assert (server.opened, server.closed, len(server.requests)) == (opened, opened - 1, 3)


async def test_a_body_framed_by_closing_the_connection() -> None:
    async with serve(Reply(body=[b"a", b"b"], framing="close")) as server:
        async with httpx.AsyncClient() as client:
            got = await client.post(server.url)
        with anyio.fail_after(5):
            while server.closed < 1:  # noqa: ASYNC110
                await anyio.sleep(0.01)
    assert (got.content, got.headers["connection"]) == (b"ab", "close")
    assert "content-length" not in got.headers and "transfer-encoding" not in got.headers
    assert server.requests[0].completed and not server.client_gone.is_set()


async def test_a_hanging_reply_ends_only_when_the_client_leaves() -> None:
    async with serve(Reply(body=[b"first"], hang=True)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        # A raw socket: httpx's own generators would be left for the garbage collector.
        async with await anyio.connect_tcp("127.0.0.1", port) as client:
            await client.send(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
            received = b""
            with anyio.fail_after(5):
                while not received.endswith(b"5\r\nfirst\r\n"):
                    received += await client.receive()
            with anyio.move_on_after(0.1) as waited:
                await server.requests[0].left.wait()
            assert waited.cancelled_caught  # still open while the client stays
        with anyio.fail_after(5):
            await server.requests[0].left.wait()
            await server.client_gone.wait()
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert (server.requests[0].client_left, server.requests[0].completed) == (True, False)


async def test_a_cut_reply_breaks_the_body_and_a_delay_comes_before_the_head() -> None:
    cut = Reply(body=[b"part"], cut=True, delay=0.05)
    async with serve(cut) as server, httpx.AsyncClient() as client:
        began = anyio.current_time()
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url)
        assert anyio.current_time() - began >= 0.05
    assert (server.requests[0].completed, server.requests[0].client_left) == (False, False)


async def test_scripts_in_order_per_path_and_by_function() -> None:
    first, then = Reply(503), Reply(200)
    scripts = [
        ([first, then], ["/a", "/b", "/a"], [503, 200, 200]),
        ({"/a": [first, then], "/b": [then]}, ["/a", "/b", "/a", "/a"], [503, 200, 200, 200]),
        (lambda request: first if "bad" in request.path else then, ["/bad", "/ok"], [503, 200]),
    ]
    for script, paths, statuses in scripts:
        async with serve(script) as server, httpx.AsyncClient() as client:
            got = [(await client.post(server.url + path)).status_code for path in paths]
        assert got == statuses
        assert server.count("/a") == paths.count("/a")


def test_streamed_cuts_per_event_or_groups_them_into_paced_reads() -> None:
    body = b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
    assert streamed(body).body == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert streamed(b'{"a": 1}\n{"b": 2}\n', "application/x-ndjson").pieces == [
        b'{"a": 1}\n',
        b'{"b": 2}\n',
    ]
    paced = streamed(body, reads=2, gap=0.1)
    assert paced.body == [b"data: 1\n\ndata: 2\n\n", 0.1, b"data: 3\n\n"]


def test_in_a_thread_for_sync_clients() -> None:
    with serve_in_thread(streamed(b'{"t": "x"}\n', "application/x-ndjson")) as server:
        got = httpx.post(server.url + "/api/chat", json={"model": "m"})  # then closes
        assert isinstance(server.client_gone, threading.Event)
        assert server.client_gone.wait(5)
    assert (got.status_code, json.loads(got.content)) == (200, {"t": "x"})
    assert [(r.path, r.json(), r.completed) for r in server.requests] == [
        ("/api/chat", {"model": "m"}, True)
    ]
