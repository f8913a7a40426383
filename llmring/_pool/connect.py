"""Open a TCP connection: resolve, then try the addresses the way RFC 8305 asks, at no cost
per connection when the first address answers.

``anyio.connect_tcp`` starts a task group, a task and an event per connection, even for an IP
literal: at 5,000 connections opened at once those transients were a quarter of the client's
peak memory (about 9 KB per connection). Here an attempt is a non-blocking socket whose
``connect`` is under way in the kernel, so waiting for it can stop and resume without losing
it. The first address is awaited inline for up to ``ATTEMPT_DELAY``; only when it is still
pending then (or another address remains after a failure) is a race started, with one task per
attempt, which is RFC 8305's "Happy Eyeballs" with the 250 ms connection attempt delay it
recommends, as anyio's own.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

import anyio

from llmring._pool.socket_stream import SocketStream

__all__ = ["ATTEMPT_DELAY", "connect_tcp"]

ATTEMPT_DELAY = 0.25
"""Seconds an attempt has before the next address is tried beside it (RFC 8305, 5)."""

_Address = tuple[int, tuple[object, ...]]
"""``(family, sockaddr)``, as ``socket.getaddrinfo`` gives them."""

_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 0}


async def connect_tcp(host: str, port: int) -> SocketStream:
    """A TCP stream to ``host:port`` (``TCP_NODELAY`` set); ``OSError`` if no address takes it."""
    return SocketStream(await _connect_any(await _resolve(host, port)))


async def _resolve(host: str, port: int) -> list[_Address]:
    """The addresses to try, in order; an IP literal needs no lookup (nor a worker thread)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return _interleaved([(family, sockaddr) for family, _, _, _, sockaddr in found])
    if literal.version == 6:
        return [(socket.AF_INET6, (host, port, 0, 0))]
    return [(socket.AF_INET, (host, port))]


def _interleaved(addresses: list[_Address]) -> list[_Address]:
    """The resolver's order, families alternating from the first one's (RFC 8305, 4)."""
    if not addresses:
        return addresses
    first = [a for a in addresses if a[0] == addresses[0][0]]
    other = [a for a in addresses if a[0] != addresses[0][0]]
    mixed = [a for pair in zip(first, other, strict=False) for a in pair]
    longer = first if len(first) > len(other) else other
    return mixed + longer[min(len(first), len(other)) :]


async def _connect_any(addresses: list[_Address]) -> socket.socket:
    """The first socket of ``addresses`` to connect. Attempts run one after the other while
    each fails or succeeds within ``ATTEMPT_DELAY``, inline; a slower one is raced against the
    rest."""
    errors: list[OSError] = []
    for index, address in enumerate(addresses):
        try:
            sock = _start(address)
        except OSError as exc:
            errors.append(exc)
            continue
        last = index == len(addresses) - 1
        try:
            if last:  # nothing left to race it against: no scope
                await _connected(sock, address[1])
                return sock
            with anyio.move_on_after(ATTEMPT_DELAY):
                await _connected(sock, address[1])
                return sock
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        return await _race(sock, address, addresses[index + 1 :], errors)
    raise _all_failed(errors)


async def _race(
    pending: socket.socket,
    pending_address: _Address,
    addresses: list[_Address],
    errors: list[OSError],
) -> socket.socket:
    """RFC 8305 from its second attempt on: ``pending`` is still connecting, so each further
    address starts after ``ATTEMPT_DELAY`` (or as soon as an attempt fails), and the first to
    connect wins; every other socket is closed."""
    started = [pending]
    winner: socket.socket | None = None

    async def attempt(sock: socket.socket, sockaddr: object, failed: anyio.Event) -> None:
        nonlocal winner
        try:
            await _connected(sock, sockaddr)
        except OSError as exc:
            errors.append(exc)
            failed.set()
            return
        if winner is None:
            winner = sock
            group.cancel_scope.cancel()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(attempt, pending, pending_address[1], anyio.Event())
            for address in addresses:
                try:
                    sock = _start(address)
                except OSError as exc:
                    errors.append(exc)
                    continue
                started.append(sock)
                failed = anyio.Event()
                group.start_soon(attempt, sock, address[1], failed)
                with anyio.move_on_after(ATTEMPT_DELAY):
                    await failed.wait()
    except BaseException:
        if winner is not None:  # cancelled from outside as it won: nobody will close it
            winner.close()
        raise
    finally:
        for sock in started:
            if sock is not winner:
                sock.close()
    if winner is None:
        raise _all_failed(errors)
    return winner


def _start(address: _Address) -> socket.socket:
    """A non-blocking socket whose connect to ``address`` is under way."""
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(sockaddr)
        if code not in _IN_PROGRESS:
            raise OSError(code, f"{os.strerror(code)} ({_where(sockaddr)})")
    except BaseException:
        sock.close()
        raise
    return sock


async def _connected(sock: socket.socket, sockaddr: object) -> None:
    """Wait until ``sock``'s connect has finished; ``OSError`` if it failed."""
    await anyio.wait_writable(sock)
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, f"{os.strerror(code)} ({_where(sockaddr)})")


def _where(sockaddr: object) -> str:
    if isinstance(sockaddr, tuple) and len(sockaddr) >= 2:
        host, port = sockaddr[0], sockaddr[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "?"


def _all_failed(errors: list[OSError]) -> OSError:
    if len(errors) == 1:
        return errors[0]
    if not errors:
        return OSError("the host name resolved to no address")
    return OSError(
        f"all {len(errors)} addresses failed: " + "; ".join(str(error) for error in errors)
    )
