"""The Dask scheduler of ``resim sweep --scheduler ADDRESS``: the address checked, then the
scheduler reached within a time limit, before the sweep is handed to it.

Dask's ``Client(address)`` alone turns every mistake into a wait or a crash: a closed port
is retried for 30 s, a malformed address is a ``ValueError``, and a service that is not
Dask (a web server on the port) answers bytes that Dask reads as the length of a frame
(``HTTP/1.1`` is 3.5e18: a 3 EiB allocation and a ``MemoryError``), or nothing at all, for
which Dask waits forever. Here, in order, each a :class:`SchedulerError` (exit code 2):

1. the address must be ``[SCHEME://]HOST:PORT``, the scheme one of Dask's over TCP
   (``tcp``, the default; ``tls``, ``ws``, ``wss``) (:func:`check_address`; tested before
   anything is read or solved);
2. something must accept a connection at HOST:PORT within the time limit
   (:func:`_accepts`: a refused connection fails at once, not after 30 s);
3. it must answer Dask's handshake and an ``identity`` request as a scheduler, all within
   the time limit (:func:`_identity`); any failure of that exchange, a ``MemoryError`` for
   a garbage frame length included, means "not a Dask scheduler".

Only then is the ``Client`` made. Requires Dask's ``distributed`` package
(:class:`DistributedUnavailable` otherwise).
"""

from __future__ import annotations

import socket
from typing import Any

from .errors import ResimError

DEFAULT_TIMEOUT = 5.0  # seconds to reach the scheduler (--scheduler-timeout)
EXAMPLE = "tcp://127.0.0.1:8786"  # the address `dask scheduler` prints, on this machine
_NETWORK_SCHEMES = ("tcp", "tls", "ws", "wss")  # Dask's schemes over TCP (probed by _accepts)


class DistributedUnavailable(ResimError):
    """``--scheduler`` was given but Dask's distributed package is not installed."""

    exit_code = 2


class SchedulerError(ResimError):
    """``--scheduler ADDRESS`` cannot be used: a malformed address, nothing answering
    there, or something other than a Dask scheduler."""

    exit_code = 2


def _distributed() -> None:
    """Import Dask's distributed package, or :class:`DistributedUnavailable`."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DistributedUnavailable(
            "--scheduler needs Dask's distributed package, which is not installed",
            hint="pip install 'resim[distributed]'  (or run without --scheduler, or with --jobs N)",
        ) from None


def check_address(address: str) -> tuple[str, int]:
    """The host and port of the scheduler address ``address`` (``tcp://HOST:PORT``,
    ``HOST:PORT``, ``tls://HOST:PORT``, ``[::1]:PORT``, ...); a :class:`SchedulerError`
    with an example of a valid one if it is not such an address."""
    _distributed()
    from distributed.comm.addressing import parse_address, parse_host_port

    def malformed(why: str) -> SchedulerError:
        return SchedulerError(f"--scheduler {address!r} is not a Dask scheduler address: {why}",
                              hint=f"give SCHEME://HOST:PORT as `dask scheduler` prints it, e.g. --scheduler {EXAMPLE}")

    scheme, location = parse_address(address)
    if scheme not in _NETWORK_SCHEMES:
        raise malformed(f"scheme '{scheme}://' is not one of {', '.join(s + '://' for s in _NETWORK_SCHEMES)}")
    try:
        host, port = parse_host_port(location)
    except ValueError:
        raise malformed("expected [SCHEME://]HOST:PORT") from None
    if not host or any(c.isspace() for c in host):
        raise malformed("no host before the port")
    if not 0 < port < 65536:
        raise malformed(f"port {port} is not from 1 to 65535")
    return host, port


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``distributed.Client`` of the Dask scheduler at ``address``, once it has answered
    as one within ``timeout`` seconds (the module's docstring says how); a
    :class:`SchedulerError` otherwise."""
    host, port = check_address(address)
    _accepts(address, host, port, timeout)
    reply = _identity(address, timeout)
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        what = reply.get("type") if isinstance(reply, dict) else None
        raise _not_dask(address, f"it answered as a Dask {what}" if isinstance(what, str) else "an unexpected answer")
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except OSError as exc:  # it went away since
        raise _no_answer(address, str(exc), timeout) from None


def _no_answer(address: str, why: str, timeout: float) -> SchedulerError:
    return SchedulerError(f"no scheduler answered at {address}: {why}",
                          hint=f"start one there (dask scheduler), or check the address and the network; "
                               f"a slow network may need a longer --scheduler-timeout (now {timeout:g} s)")


def _not_dask(address: str, why: str) -> SchedulerError:
    if address.startswith(("tls://", "wss://")):  # without Dask's TLS settings no handshake even starts
        hint = ("a TLS address needs Dask's TLS settings (its configuration's distributed.comm.tls: "
                "ca-file and the client's cert and key) and the port the scheduler prints; or give the tcp:// address")
    else:
        hint = f"check the port: give the address `dask scheduler` prints (its default port is 8786), e.g. --scheduler {EXAMPLE}"
    return SchedulerError(f"{address} did not answer as a Dask scheduler ({why})", hint=hint)


def _accepts(address: str, host: str, port: int, timeout: float) -> None:
    """Return if a TCP connection to ``host:port`` is accepted within ``timeout`` seconds
    (it is closed at once); else a :class:`SchedulerError` saying what happened."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except socket.gaierror as exc:
        why = f"cannot find the host '{host}' ({exc.strerror})"
    except TimeoutError:
        why = f"no connection within {timeout:g} s"
    except ConnectionRefusedError:
        why = f"connection refused: nothing listens on port {port}"
    except OSError as exc:
        why = exc.strerror or str(exc)
    raise _no_answer(address, why, timeout)


def _identity(address: str, timeout: float) -> object:
    """What the Dask server at ``address`` answers to ``identity``, after Dask's handshake,
    all within ``timeout`` seconds; a :class:`SchedulerError` when the exchange fails.
    Run in a thread of its own, with its own event loop (the caller may be in one)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect as dask_connect
    from distributed.security import Security

    async def ask() -> object:
        comm = await dask_connect(address, timeout=timeout, **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def within_time() -> object:
        return await asyncio.wait_for(ask(), timeout)

    with ThreadPoolExecutor(1, thread_name_prefix="resim-scheduler-probe") as pool:
        try:
            return pool.submit(asyncio.run, within_time()).result()
        except (TimeoutError, asyncio.TimeoutError):
            raise _not_dask(address, f"no answer to Dask's handshake within {timeout:g} s") from None
        except MemoryError:  # the first 8 bytes it sent, read as a frame length, were absurd
            raise _not_dask(address, "its first bytes are not a Dask message") from None
        except Exception as exc:  # closed, reset, undecodable: whatever it is, it is not Dask
            raise _not_dask(address, f"{type(exc).__name__}: {exc}") from None
