"""``resim sweep --scheduler ADDRESS`` that cannot be used is a usage error (exit 2) that
says why, at once (issue 23, item 6): a malformed address (it was an internal error), a
port where nothing listens (an internal error after 30 s), and a service that is not Dask
(a web server's bytes read as a 3 EiB frame: "out of memory", exit 11; or silence, which
Dask waits on forever). The servers here are threads of this process, stopped at the end
of each test; no thread is left running."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from resim.cli import run_args

GUARD_S = 60  # a bound on waits that would otherwise hang a broken build (never a speed check)


@pytest.fixture(autouse=True)
def no_thread_left():
    """Every thread a test starts (its servers, the scheduler probe's) has ended after it."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in left:
        t.join(GUARD_S)
    assert not [t for t in left if t.is_alive()]


@pytest.fixture
def divider(netlists_dir) -> str:
    return str(netlists_dir / "divider.cir")


def sweep(divider: str, scheduler: str, *more: str) -> list[str]:
    return ["sweep", divider, "--dc", "V1", "0", "1", "0.5", "--scheduler", scheduler, *more]


class TcpServer:
    """A TCP server on the loopback interface, in a thread: ``answer(conn)`` for each
    connection, which stays open until :meth:`close`."""

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # so that the loop sees the stop flag
        self.port = self.listener.getsockname()[1]
        self.answer, self.conns, self.stop = answer, [], threading.Event()
        self.thread = threading.Thread(target=self._serve, name="test-tcp-server")
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.conns.append(conn)
            self.answer(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(GUARD_S)
        for conn in [*self.conns, self.listener]:
            conn.close()


@pytest.fixture
def tcp_server() -> Iterator[Callable[[Callable[[socket.socket], None]], TcpServer]]:
    servers: list[TcpServer] = []

    def start(answer: Callable[[socket.socket], None]) -> TcpServer:
        servers.append(TcpServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    """A port of the loopback interface where nothing listens: one just bound and closed."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        return s.getsockname()[1]


@pytest.mark.parametrize("address, says", [
    ("garbage", "expected [SCHEME://]HOST:PORT"),
    ("tcp://127.0.0.1", "expected [SCHEME://]HOST:PORT"),
    ("127.0.0.1:", "expected [SCHEME://]HOST:PORT"),
    ("tcp://:8786", "no host before the port"),
    ("tcp://127.0.0.1:99999", "port 99999 is not from 1 to 65535"),
    ("http://127.0.0.1:8786", "scheme 'http://' is not one of tcp://, tls://, ws://, wss://"),
    ("", "expected [SCHEME://]HOST:PORT"),
])
def test_a_malformed_address_is_a_usage_error_with_an_example(divider, capsys, address, says):
    assert run_args(sweep(divider, address)) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"--scheduler {address!r} is not a Dask scheduler address: {says}" in err
    assert "e.g. --scheduler tcp://127.0.0.1:8786" in err


def test_the_address_is_checked_before_the_netlist_is_read(tmp_path, capsys):
    bad = tmp_path / "bad.cir"
    bad.write_text("bad\nR1 a 0 x\n.dc R1 1 2 1\n")  # a netlist error (exit 3) if it were read
    assert run_args(["sweep", str(bad), "--scheduler", "garbage"]) == 2
    assert "is not a Dask scheduler address" in capsys.readouterr().err


def test_a_port_where_nothing_listens_is_refused_at_once(divider, capsys):
    address = f"tcp://127.0.0.1:{closed_port()}"
    assert run_args(sweep(divider, address, "--scheduler-timeout", str(GUARD_S))) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"error: no scheduler answered at {address}: connection refused" in err
    assert "Traceback" not in err


def _garbage(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")  # read by Dask as a 3 EiB frame


def _silence(conn: socket.socket) -> None:
    pass  # accepts, then says nothing


@pytest.mark.parametrize("answer, why", [
    (_garbage, "its first bytes are not a Dask message"),
    (_silence, "no answer to Dask's handshake within 0.5 s"),
])
def test_a_service_that_is_not_dask_is_named_as_such(divider, capsys, tcp_server, answer, why):
    server = tcp_server(answer)
    address = f"tcp://127.0.0.1:{server.port}"
    assert run_args(sweep(divider, address, "--scheduler-timeout", "0.5")) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"error: {address} did not answer as a Dask scheduler ({why})" in err
    assert server.conns  # it was reached


def test_a_tls_address_without_tls_settings_says_so_not_check_the_port(divider, capsys, tcp_server):
    """Dask cannot even start a TLS handshake without its TLS settings; the hint said to
    check the port, which is not what is wrong."""
    server = tcp_server(_silence)
    address = f"tls://127.0.0.1:{server.port}"
    assert run_args(sweep(divider, address, "--scheduler-timeout", "0.5")) == 2
    _, err = capsys.readouterr()
    assert f"error: {address} did not answer as a Dask scheduler" in err
    assert "TLS settings" in err and "check the port" not in err
