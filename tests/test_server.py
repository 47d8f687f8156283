"""``resim serve``: the same answers, files and exit codes as running the command directly;
and never hang, never clobber, never trust a stranger (issue 12): the server replaces only a
stale socket, talks only to its own user, is not blocked by stuck, huge or malformed
requests, and the client runs the command itself when the server cannot be trusted or
does not answer.

Every server a test starts is stopped by a fixture finaliser (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from resim import client, serve_jobs
from resim import server as server_mod

OTHER_UID = 12345  # a uid that is not ours (tests run as root: os.chown can give files to it)
GUARD_S = 60  # a bound on waits that would otherwise hang a broken build (never a speed check)


def _start(exe: str, sock: Path, *options: str, ignore_sigint: bool = False) -> subprocess.Popen:
    """``resim serve --socket sock options``, once it accepts connections (its log beside
    ``sock``); with ``ignore_sigint``, started as ``resim serve &`` in a script starts it
    (a shell without job control gives a background command SIGINT ignored)."""
    log = sock.with_name(sock.name + ".log")
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
    with open(log, "w") as err:
        proc = subprocess.Popen([exe, "serve", "--socket", str(sock), *options], stdout=err, stderr=err,
                                env=_env(), preexec_fn=ignore)
    deadline = time.monotonic() + GUARD_S
    while "listening" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if "listening" not in log.read_text():
        _stop(proc)
        pytest.fail(f"resim serve did not start: {log.read_text()}")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=GUARD_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def start_server(resim_exe, tmp_path):
    """``start_server(sock, *options)`` starts a server; all are stopped at the end of the test."""
    procs = []

    def start(sock: Path, *options: str, ignore_sigint: bool = False) -> subprocess.Popen:
        procs.append(_start(resim_exe, sock, *options, ignore_sigint=ignore_sigint))
        return procs[-1]

    yield start
    for proc in procs:
        _stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory, resim_exe):
    """A server that waits up to 600 s for a request: only concurrency lets a stuck client
    not block the others."""
    sock = tmp_path_factory.mktemp("srv") / "resim.sock"
    proc = _start(resim_exe, sock, "--read-timeout", "600")
    yield str(sock)
    _stop(proc)


def _env(server: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RESIM_DEBUG", "RESIM_SERVER", client.TIMEOUT_ENV)}
    if server:
        env["RESIM_SERVER"] = server
    return {**env, **extra}


def run(exe: str, *args: str, server: str | None = None, cwd=None, stdin: str | None = None, **env: str):
    return subprocess.run([exe, *args], capture_output=True, text=True, env=_env(server, **env), cwd=cwd,
                          input=stdin, timeout=120)


def without_timings(text: str) -> dict:
    doc = json.loads(text)
    doc.pop("timings", None)
    return doc


def test_served_results_equal_direct_ones(resim_exe, server, netlists_dir):
    for name in ("divider.cir", "diode_clipper.cir", "ideal_rectifier.cir"):
        path = str(netlists_dir / name)
        direct = run(resim_exe, "solve", path, "--format", "json")
        served = run(resim_exe, "solve", path, "--format", "json", server=server)
        assert direct.returncode == served.returncode == 0, served.stderr
        assert without_timings(served.stdout) == without_timings(direct.stdout)


def test_served_errors_keep_their_exit_code_and_message(resim_exe, server, tmp_path):
    bad = tmp_path / "bad.cir"
    bad.write_text("bad\nR1 a b x\n")
    direct = run(resim_exe, "solve", str(bad))
    served = run(resim_exe, "solve", str(bad), server=server)
    assert served.returncode == direct.returncode == 3
    assert served.stderr == direct.stderr and "bad.cir:2:8" in served.stderr


def test_served_output_file_and_stdin_follow_the_callers_directory(resim_exe, server, netlists_dir, tmp_path):
    text = (netlists_dir / "divider.cir").read_text()
    served = run(resim_exe, "solve", "-", "--format", "json", "-o", "op.json", server=server, cwd=tmp_path,
                 stdin=text)
    assert served.returncode == 0, served.stderr
    assert json.loads((tmp_path / "op.json").read_text())["nodes"]["out"] == pytest.approx(40 / 9)


def test_without_a_server_the_command_runs_here(resim_exe, netlists_dir, tmp_path):
    gone = run(resim_exe, "solve", str(netlists_dir / "divider.cir"), "--format", "json",
               server=str(tmp_path / "no-such.sock"))
    assert gone.returncode == 0 and json.loads(gone.stdout)["nodes"]["out"] == pytest.approx(40 / 9)


def test_a_server_of_other_code_is_not_used(server):
    """A request with another code key is refused: the client then runs it itself."""
    reply = ask(server, json.dumps(request(["solve", "x.cir"], "/", key="other")).encode())
    assert reply == {"code": None}


def request(argv: list[str], cwd: str, stdin: str | None = None, **fields) -> dict:
    """A request as the client sends it (``fields`` replace its parts): this process's
    code key, settings and umask."""
    return {"argv": argv, "cwd": cwd, "stdin": stdin, "key": client.code_key(), "umask": client.current_umask(),
            "env": client.behaviour_env(_env()), **fields}


def ask(path: str, data: bytes, eof: bool = True) -> dict:
    """Send ``data`` to the server at ``path`` (then EOF unless ``eof`` is false) and
    return its JSON answer; a send cut short by the server closing is not an error."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        _connect(conn, path)
        try:
            conn.sendall(data)
            if eof:
                conn.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is still there to read
        return json.loads(_read_until_hangup(conn))


def _connect(conn: socket.socket, path: str) -> None:
    """Connect ``conn`` (then give it a :data:`GUARD_S` timeout), waiting while the
    server's listen queue is full (a UNIX socket with a timeout says EAGAIN at once)."""
    conn.settimeout(GUARD_S)
    deadline = time.monotonic() + GUARD_S
    while True:
        try:
            return conn.connect(path)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _read_until_hangup(conn: socket.socket) -> bytes:
    """What ``conn`` sends until EOF, or until a reset (a server that hangs up on unread
    data resets the connection after its answer)."""
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while chunk := conn.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)


def out_voltage(stdout: str) -> float:
    """v(out) in the JSON output of ``resim solve divider.cir --format json``."""
    return json.loads(stdout)["nodes"]["out"]


def assert_serves(path: str, netlists_dir: Path) -> None:
    """The server at ``path`` solves divider.cir (a request as the client sends it): 40/9 V."""
    netlist = netlists_dir / "divider.cir"
    reply = ask(path, json.dumps(request(["solve", str(netlist), "--format", "json"], str(netlists_dir))).encode())
    assert reply["code"] == 0 and out_voltage(reply["stdout"]) == pytest.approx(40 / 9), reply


# ---- never clobber: only a stale socket of ours is replaced -----------------------------


def _dead_socket(path: Path) -> Path:
    """A socket file nobody listens on (its server is gone)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
    return path


def _other_users_dead_socket(path: Path) -> Path:
    os.chown(_dead_socket(path), OTHER_UID, OTHER_UID)
    return path


def _regular_file(path: Path) -> Path:
    path.write_text("precious\n")
    return path


def _link_to_file(path: Path) -> Path:
    path.symlink_to(_regular_file(path.with_name("target.txt")))
    return path


@pytest.mark.parametrize("make, says", [
    (_regular_file, "is a file, not a socket"),
    (_link_to_file, "is a symbolic link, not a socket"),
    (Path.mkdir, "directory"),  # click's own --socket check: a folder is not a file
    (_other_users_dead_socket, f"is a socket of uid {OTHER_UID}, not yours"),
])
def test_serve_never_replaces_anything_but_a_stale_socket_of_ours(resim_exe, tmp_path, make, says):
    target = tmp_path / "taken"
    make(target)
    before = os.lstat(target)
    with pytest.raises(server_mod.SocketPathError, match="refusing to replace it"):
        server_mod.clear_stale_socket(str(target))
    done = run(resim_exe, "serve", "--socket", str(target))  # the old server replaced it and served forever
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode, after.st_uid) == (before.st_ino, before.st_mode, before.st_uid)
    if make is _regular_file:
        assert target.read_text() == "precious\n"


@pytest.mark.parametrize("where, says", [("gone/s.sock", "No such file or directory"), ("x" * 120, "too long")])
def test_serve_says_why_it_cannot_listen(resim_exe, tmp_path, where, says):
    done = run(resim_exe, "serve", "--socket", str(tmp_path / where))
    assert done.returncode == 2 and f"cannot listen on {tmp_path / where}" in done.stderr and says in done.stderr


def test_serve_refuses_a_socket_with_a_live_server(resim_exe, server, netlists_dir):
    second = run(resim_exe, "serve", "--socket", server)
    assert second.returncode == 2 and "already listening" in second.stderr
    assert_serves(server, netlists_dir)  # the first server still answers


def test_serve_replaces_a_stale_socket_and_removes_its_own_on_sigterm(start_server, tmp_path, netlists_dir):
    sock = _dead_socket(tmp_path / "stale.sock")
    proc = start_server(sock)
    assert_serves(str(sock), netlists_dir)
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o600
    _stop(proc)
    assert proc.returncode == 0 and not sock.exists()


# ---- never trust a stranger: a private default folder, own-uid sockets and peers --------


def test_the_default_socket_lies_in_a_private_folder_resim_creates(tmp_path):
    assert server_mod.runtime_folder({}) == f"/tmp/resim-{os.getuid()}"  # not a predictable socket in /tmp
    path = server_mod.default_socket({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert path == str(tmp_path / "resim" / "server.sock")
    st = os.lstat(tmp_path / "resim")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
    assert server_mod.default_socket({"XDG_RUNTIME_DIR": str(tmp_path)}) == path  # and accepts it again


def _open_folder(path: Path) -> None:
    path.mkdir(mode=0o755)
    path.chmod(0o755)


def _others_folder(path: Path) -> None:
    path.mkdir(mode=0o700)
    os.chown(path, OTHER_UID, OTHER_UID)


def _link_to_private_folder(path: Path) -> None:
    target = path.with_name("elsewhere")
    target.mkdir(mode=0o700)
    path.symlink_to(target)


@pytest.mark.parametrize("make, says", [
    (_open_folder, "mode is 0755"),
    (_others_folder, f"belongs to uid {OTHER_UID}"),
    (_link_to_private_folder, "not a folder"),
    (_regular_file, "not a folder"),
])
def test_a_default_folder_that_is_not_private_is_refused(resim_exe, tmp_path, make, says):
    make(tmp_path / "resim")
    with pytest.raises(server_mod.SocketPathError, match=says):
        server_mod.default_socket({"XDG_RUNTIME_DIR": str(tmp_path)})
    done = run(resim_exe, "serve", XDG_RUNTIME_DIR=str(tmp_path))
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def _fake_server(path: Path) -> socket.socket:
    """A listening socket that never accepts: any client connection waits in its queue."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    return listener


def _assert_nobody_connected(listener: socket.socket) -> None:
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()


def _give_away(sock: Path) -> Path:
    os.chown(sock, OTHER_UID, OTHER_UID)
    return sock


def _link_to(sock: Path) -> Path:
    sock.with_name("link.sock").symlink_to(sock)
    return sock.with_name("link.sock")


def _file_beside(sock: Path) -> Path:
    return _regular_file(sock.with_name("file.sock"))


@pytest.mark.parametrize("plant, why", [
    (_give_away, f"it belongs to uid {OTHER_UID}, not to you (uid {os.getuid()})"),  # the old client sent it all
    (_link_to, "it is not a socket"),  # a link to a socket of ours: lstat does not follow it
    (_file_beside, "it is not a socket"),
])
def test_the_client_runs_locally_rather_than_trust_a_path_that_is_not_our_socket(
        resim_exe, tmp_path, netlists_dir, plant, why):
    with _fake_server(tmp_path / "planted.sock") as listener:
        path = plant(tmp_path / "planted.sock")
        done = run(resim_exe, "solve", "-", "--format", "json", server=str(path),
                   stdin=(netlists_dir / "divider.cir").read_text())
        _assert_nobody_connected(listener)
    assert done.returncode == 0 and out_voltage(done.stdout) == pytest.approx(40 / 9)
    assert f"not using the server socket {path}: {why}; running the command here" in done.stderr


def test_peers_are_trusted_only_with_our_own_uid():
    assert client.peer_trusted(0, own_uid=0) and client.peer_trusted(OTHER_UID, own_uid=OTHER_UID)
    assert not client.peer_trusted(OTHER_UID, own_uid=0) and not client.peer_trusted(0, own_uid=OTHER_UID)
    assert client.peer_trusted(os.getuid())
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert client.peer_uid(left) == os.getuid()  # SO_PEERCRED of a real connection


class _Cli:
    """Its ``run_args`` stands in for resim.cli's as the handler of an in-process server
    session: records what it runs. ``run`` runs a request with it, in this process (a
    server runs it in a child process: :class:`resim.serve_jobs.Jobs`)."""

    def __init__(self) -> None:
        self.ran: list[list[str]] = []

    def run_args(self, argv: list[str]) -> int:
        self.ran.append(argv)
        print("ran", *argv)
        return 0

    def run(self, req: dict, conn: socket.socket) -> dict:
        return serve_jobs.run_command(req, self.run_args)


def _answer(session: server_mod._Session, req: dict) -> tuple[bytes, list[bool]]:
    """What ``session`` answers ``req`` (sent through a socket pair), and whether it
    released its slot."""
    released = []
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with theirs:
        theirs.sendall(json.dumps(req).encode())
        theirs.shutdown(socket.SHUT_WR)
        session.answer(ours, lambda: released.append(True))
        theirs.settimeout(GUARD_S)
        return _read_until_hangup(theirs), released


@pytest.mark.parametrize("uid, answered", [(os.getuid(), True), (OTHER_UID, False)])
def test_the_server_answers_only_its_own_uid(monkeypatch, tmp_path, uid, answered):
    monkeypatch.setattr(server_mod, "peer_uid", lambda conn: uid)  # what SO_PEERCRED would say
    cli = _Cli()
    session = server_mod._Session("k", cli.run, read_timeout=GUARD_S, max_request=1 << 20, env={})
    answer, released = _answer(session, request(["solve", "x.cir"], str(tmp_path), key="k", env={}))
    assert released == [True]
    if answered:
        assert json.loads(answer) == {"code": 0, "stdout": "ran solve x.cir\n", "stderr": ""}
        assert cli.ran == [["solve", "x.cir"]]
    else:
        assert answer == b"" and cli.ran == []  # closed unanswered, nothing run


def test_the_client_does_not_talk_to_a_server_process_of_another_uid(monkeypatch, tmp_path):
    monkeypatch.setattr(client, "peer_uid", lambda conn: OTHER_UID)  # what SO_PEERCRED would say
    sock = tmp_path / "s.sock"
    with _fake_server(sock) as listener:
        with pytest.raises(client.NotServed, match=f"runs as uid {OTHER_UID}"):
            client.forward(str(sock), ["solve", "x.cir"], timeout=GUARD_S)
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(GUARD_S)
            assert client.read_all(conn) == b""  # connected, then hung up: not a byte sent


# ---- never hang: stuck, huge and malformed requests ------------------------------------


def test_a_stuck_client_does_not_block_the_others(server, netlists_dir):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stuck:
        stuck.connect(server)
        stuck.sendall(b'{"argv": ["sol')  # and never more, never EOF: the server waits 600 s for it
        assert_serves(server, netlists_dir)
        stuck.setblocking(False)
        with pytest.raises(BlockingIOError):
            stuck.recv(1)  # still connected, still unanswered


def test_a_stuck_client_times_out_and_an_oversized_request_is_refused_unread(start_server, tmp_path,
                                                                            netlists_dir):
    sock = tmp_path / "strict.sock"
    start_server(sock, "--read-timeout", "0.5", "--max-request", "1000")
    slow = ask(str(sock), b'{"argv": ["solve"', eof=False)
    assert slow == {"code": None, "error": "no complete request within 0.5 s"}
    # 1001 bytes and no EOF: only a server that stops reading at the limit answers before its
    # read timeout, and it says so; 8 MB: the server hangs up after 1001 bytes
    for size, eof in ((1001, False), (8 << 20, True)):
        huge = ask(str(sock), b" " * size, eof=eof)
        assert huge == {"code": None, "error": "request larger than 1000 bytes: not read"}
    assert_serves(str(sock), netlists_dir)  # 200-odd bytes: fine


@pytest.mark.parametrize("request_bytes, error", [
    (b"[1, 2]", "malformed request: expected a JSON object, got list"),
    (b'{"argv": 3, "cwd": "/"}', "malformed request: 'argv' must be a list of strings"),
    (b'{"argv": ["solve", 1], "cwd": "/"}', "malformed request: 'argv' must be a list of strings"),
    (b'{"argv": ["solve"]}', "malformed request: 'cwd' must be a string"),
    (b'{"argv": ["solve"], "cwd": "/", "stdin": 5}', "malformed request: 'stdin' must be a string or null"),
    (b'{"argv": ["solve"], "cwd": "/", "stdin": null}', "malformed request: 'umask' must be an integer"),
    (b'{"argv": ["solve"], "cwd": "/", "umask": 512}', "malformed request: 'umask' must be an integer"),
    (b'{"argv": ["solve"], "cwd": "/", "umask": true}', "malformed request: 'umask' must be an integer"),
    (b'{"argv": ["solve"], "cwd": "/", "umask": 18}', "malformed request: 'env' must be an object of strings"),
    (b'{"argv": ["solve"], "cwd": "/", "umask": 18, "env": {"A": 1}}',
     "malformed request: 'env' must be an object of strings"),
    (b"{not json", "request is not JSON"),
    (b"\xff\xfe", "request is not JSON"),
    (b"[" * 200_000, "request is not JSON"),
    (b"", "request is not JSON"),
])
def test_a_malformed_request_gets_an_error_and_the_server_lives_on(server, netlists_dir, request_bytes, error):
    reply = ask(server, request_bytes)
    assert reply["code"] is None and reply["error"].startswith(error)
    assert_serves(server, netlists_dir)


def test_a_request_in_a_missing_folder_gets_an_error(server, tmp_path):
    reply = ask(server, json.dumps(request(["solve", "x.cir"], str(tmp_path / "gone"))).encode())
    assert reply["code"] is None and "FileNotFoundError" in reply["error"]


# ---- the client gives up on a server that does not answer, or answers nonsense ----------


def test_the_client_runs_the_command_itself_when_the_server_does_not_answer(resim_exe, tmp_path, netlists_dir):
    sock = tmp_path / "silent.sock"
    with _fake_server(sock):  # accepts nothing, answers nothing
        done = run(resim_exe, "solve", "-", "--format", "json", server=str(sock),
                   stdin=(netlists_dir / "divider.cir").read_text(), RESIM_SERVER_TIMEOUT="0.5")
    assert done.returncode == 0 and out_voltage(done.stdout) == pytest.approx(40 / 9)  # stdin read again
    assert f"the server at {sock} did not answer within 0.5 s; running the command here" in done.stderr


@pytest.mark.parametrize("answer", [b'{"code": 0}', b'[0, "", ""]', b'{"code": "0", "stdout": "", "stderr": ""}'])
def test_the_client_runs_the_command_itself_when_the_answer_is_malformed(resim_exe, tmp_path, netlists_dir, answer):
    sock = tmp_path / "odd.sock"

    def serve_once(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            client.read_all(conn)
            conn.sendall(answer)

    with _fake_server(sock) as listener:
        listener.settimeout(GUARD_S)
        fake = threading.Thread(target=serve_once, args=(listener,))
        fake.start()
        done = run(resim_exe, "solve", str(netlists_dir / "divider.cir"), "--format", "json", server=str(sock))
        fake.join()
    assert done.returncode == 0 and out_voltage(done.stdout) == pytest.approx(40 / 9)
    assert "sent a malformed answer; running the command here" in done.stderr and "Traceback" not in done.stderr


# ---- one deadline per request, and an accept loop that never waits (issue 12, item 5) ---


def test_the_read_timeout_is_one_deadline_for_the_whole_request(start_server, tmp_path, netlists_dir):
    """A client that sends a byte every 0.25 s (each recv is quick) is still refused once
    --read-timeout has passed since it connected, while it is still sending; a normal
    client is served meanwhile."""
    sock = tmp_path / "deadline.sock"
    start_server(sock, "--read-timeout", "1")
    payload = b'{"argv": ' + b" " * 100  # 100 bytes x 0.25 s: 25 s of trickling, 25 times the deadline
    connected, outcome = threading.Event(), {}

    def trickle() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(sock))
            connected.set()
            sent = 0
            try:
                for byte in payload:
                    if select.select([conn], [], [], 0.25)[0]:  # an answer (or a hang-up) arrived
                        break
                    conn.sendall(bytes([byte]))
                    sent += 1
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server hung up: its answer is still there to read
            conn.settimeout(GUARD_S)
            outcome.update(sent=sent, reply=_read_until_hangup(conn))

    slow = threading.Thread(target=trickle)
    slow.start()
    try:
        assert connected.wait(GUARD_S)
        assert_serves(str(sock), netlists_dir)  # while the slow one trickles
    finally:
        slow.join(GUARD_S)
    assert not slow.is_alive()
    assert json.loads(outcome["reply"]) == {"code": None, "error": "no complete request within 1 s"}
    assert outcome["sent"] < len(payload)  # refused while it was still sending, not after


def test_a_full_server_refuses_one_more_connection_at_once(start_server, tmp_path, netlists_dir):
    """With every slot taken by stuck clients, one more connection is answered "busy" at
    once (its client runs the command itself) rather than left waiting behind them; the
    slots come back when the stuck clients go."""
    sock = tmp_path / "full.sock"
    start_server(sock, "--read-timeout", str(GUARD_S))
    busy = {"code": None, "error": f"busy: {server_mod.MAX_CONNECTIONS} requests are being read or run"}
    with contextlib.ExitStack() as stuck:
        for _ in range(server_mod.MAX_CONNECTIONS):
            conn = stuck.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
            _connect(conn, str(sock))
            conn.sendall(b'{"argv": ["sol')  # and never more, never EOF
        assert ask(str(sock), json.dumps(request(["solve", "x.cir"], str(tmp_path))).encode()) == busy
    deadline = time.monotonic() + GUARD_S  # the stuck ones hung up: their threads end, their slots return
    reply = busy
    while reply == busy and time.monotonic() < deadline:
        time.sleep(0.05)
        reply = ask(str(sock), json.dumps(request(["solve", str(netlists_dir / "divider.cir"), "--format", "json"],
                                                  str(netlists_dir))).encode())
    assert reply["code"] == 0 and out_voltage(reply["stdout"]) == pytest.approx(40 / 9), reply


# ---- the same output and files as a local run ------------------------------------------


def _link_to_stdout(tmp_path: Path) -> str:
    (tmp_path / "out.link").symlink_to("/dev/stdout")
    return str(tmp_path / "out.link")


@pytest.mark.parametrize("args, on_stdin", [
    (["{net}", "-o", "/dev/stdout"], False),  # the old server wrote the result into its own log
    (["{net}", "--output=/dev/fd/1"], False),
    (["{net}", "-o/proc/self/fd/1"], False),
    (["{net}", "-o", "{link}"], False),  # a link of ours to /dev/stdout
    (["/dev/stdin"], True),  # the old server read its own stdin
    (["/dev/fd/0"], True),
])
def test_arguments_naming_the_clients_own_files_mean_the_same_through_the_server(
        resim_exe, server, netlists_dir, tmp_path, args, on_stdin):
    net = netlists_dir / "divider.cir"
    argv = ["solve", *(a.format(net=net, link=_link_to_stdout(tmp_path) if a == "{link}" else "") for a in args),
            "--format", "json"]
    stdin = net.read_text() if on_stdin else None
    direct = run(resim_exe, *argv, stdin=stdin)
    served = run(resim_exe, *argv, server=server, stdin=stdin)
    assert direct.returncode == served.returncode == 0, (direct.stderr, served.stderr)
    assert out_voltage(direct.stdout) == pytest.approx(40 / 9)
    assert without_timings(served.stdout) == without_timings(direct.stdout) and served.stderr == direct.stderr


@pytest.mark.parametrize("value, own", [
    ("/dev/stdout", True), ("/dev/stdin", True), ("/dev/stderr", True), ("/dev/tty", True), ("/dev/fd/3", True),
    ("/proc/self/fd/1", True), ("/proc/cpuinfo", True), ("/dev/../dev/stdout", True),
    ("op.json", False), ("/dev/null", False), ("x\0y", False), ("y" * 5000, False),
])
def test_names_of_the_clients_own_files_are_recognised(tmp_path, monkeypatch, value, own):
    monkeypatch.chdir(tmp_path)
    assert client.names_own_file(value) is own
    if "\0" not in value and len(value) < 4000:
        (tmp_path / "link").symlink_to(value)
        assert client.names_own_file(str(tmp_path / "link")) is own  # through a link of ours too


@pytest.mark.parametrize("argv, here", [
    (["solve", "n.cir", "-o", "/dev/stdout"], True),
    (["solve", "n.cir", "-o/dev/stdout"], True),
    (["solve", "n.cir", "--output=/dev/stderr"], True),
    (["solve", "/dev/stdin"], True),
    (["solve", "-", "-o", "op.json", "--format", "json"], False),  # `-` is sent as stdin's text
    (["solve", "n.cir", "--set", "R1=2k"], False),
])
def test_the_client_keeps_commands_naming_its_own_files(monkeypatch, tmp_path, argv, here):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESIM_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal
    assert client.runs_here(argv) is here


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("argv, here", [
    (["solve", "n.cir"], True),  # the table is drawn for the terminal: its width, bold headings
    (["solve", "n.cir", "--format", "json", "--format", "table"], True),
    (["solve", "n.cir", "--format", "csv"], False),
    (["solve", "n.cir", "--format=json"], False),
    (["solve", "n.cir", "-o", "op.txt"], False),
    (["solve", "n.cir", "--output=op.txt"], False),
])
def test_on_a_terminal_the_client_keeps_only_commands_that_draw_a_table_there(monkeypatch, tmp_path, argv, here):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESIM_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert client.runs_here(argv) is here


def _drain(fd: int, into: list[bytes]) -> None:
    """Read the pseudo-terminal master ``fd`` until its slave side is closed."""
    with contextlib.suppress(OSError):  # EIO: every slave closed
        while chunk := os.read(fd, 1 << 16):
            into.append(chunk)


@pytest.mark.parametrize("how", ["RESIM_DEBUG=1", "stdout is a terminal"])
def test_the_client_runs_here_under_resim_debug_or_for_a_table_on_a_terminal(resim_exe, tmp_path, netlists_dir,
                                                                              how):
    """A traceback, or a table drawn for the terminal, belong to this process: the client
    does not even connect."""
    sock = tmp_path / "unused.sock"
    argv = [resim_exe, "solve", str(netlists_dir / "divider.cir")]
    env = _env(str(sock), RESIM_SERVER_TIMEOUT="2")  # the old client waited 2 s on it, then ran here
    with _fake_server(sock) as listener:
        if how == "RESIM_DEBUG=1":
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**env, "RESIM_DEBUG": "1"})
            shown = done.stdout
        else:
            master, slave = os.openpty()
            got: list[bytes] = []
            reader = threading.Thread(target=_drain, args=(master, got))
            reader.start()
            try:
                done = subprocess.run(argv, stdout=slave, stderr=subprocess.PIPE, text=True, timeout=120, env=env)
            finally:
                os.close(slave)
                reader.join(GUARD_S)
                os.close(master)
            shown = b"".join(got).decode()
        _assert_nobody_connected(listener)
    assert done.returncode == 0 and "out" in shown and done.stderr == "", done.stderr


@pytest.mark.parametrize("mask", [0o077, 0o027, 0o002])
def test_files_written_through_the_server_get_the_clients_umask(resim_exe, server, netlists_dir, tmp_path, mask):
    modes = {}
    for where, via in (("direct", None), ("served", server)):
        out = tmp_path / f"{where}.json"
        done = subprocess.run(["sh", "-c", f'umask {mask:03o} && exec "$0" "$@"', resim_exe, "solve",
                               str(netlists_dir / "divider.cir"), "--format", "json", "-o", str(out)],
                              capture_output=True, text=True, env=_env(via), timeout=120)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        modes[where] = stat.S_IMODE(out.stat().st_mode)
    assert modes == {"direct": 0o666 & ~mask, "served": 0o666 & ~mask}


def test_the_server_applies_the_umask_for_the_command_only(tmp_path):
    seen = []

    def handler(argv: list[str]) -> int:
        seen.append(client.current_umask())
        return 0

    before = client.current_umask()
    reply = serve_jobs.run_command(request(["solve", "x.cir"], str(tmp_path), umask=0o077), handler)
    assert reply["code"] == 0 and seen == [0o077] and client.current_umask() == before


def test_the_client_sends_its_umask_and_the_settings_that_change_results(resim_exe, tmp_path, netlists_dir):
    sock, got = tmp_path / "recording.sock", []

    def serve_once(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            got.append(json.loads(client.read_all(conn)))
            conn.sendall(b'{"code": 0, "stdout": "served\\n", "stderr": ""}')

    extra = {"RESIM_DATA": str(tmp_path), "OPENBLAS_NUM_THREADS": "1", "RESIM_SERVER_TIMEOUT": str(GUARD_S)}
    with _fake_server(sock) as listener:
        listener.settimeout(GUARD_S)
        fake = threading.Thread(target=serve_once, args=(listener,))
        fake.start()
        done = subprocess.run(["sh", "-c", 'umask 027 && exec "$0" "$@"', resim_exe, "solve", "n.cir"],
                              capture_output=True, text=True, env=_env(str(sock), **extra), timeout=120)
        fake.join(GUARD_S)
    assert done.returncode == 0 and done.stdout == "served\n", done.stderr
    (sent,) = got
    assert sent["umask"] == 0o027
    assert sent["env"] == client.behaviour_env(_env(str(sock), **extra))
    assert sent["env"]["RESIM_DATA"] == str(tmp_path) and sent["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert not any(k.startswith("RESIM_SERVER") for k in sent["env"])  # the client's own settings


@pytest.mark.parametrize("env, runs", [
    ({"RESIM_DATA": "/d"}, True),
    ({}, False),  # the server has RESIM_DATA, the client not
    ({"RESIM_DATA": "/e"}, False),
    ({"RESIM_DATA": "/d", "OMP_NUM_THREADS": "1"}, False),  # numpy's threads are set at import
])
def test_the_server_runs_only_requests_with_its_own_settings(tmp_path, env, runs):
    cli = _Cli()
    session = server_mod._Session("k", cli.run, read_timeout=GUARD_S, max_request=1 << 20,
                                  env={"RESIM_DATA": "/d"})
    answer, _ = _answer(session, request(["solve", "x.cir"], str(tmp_path), key="k", env=env))
    assert json.loads(answer) == ({"code": 0, "stdout": "ran solve x.cir\n", "stderr": ""} if runs else {"code": None})
    assert cli.ran == ([["solve", "x.cir"]] if runs else [])


def test_behaviour_env_leaves_out_the_clients_own_settings():
    env = {"RESIM_DATA": "a", "RESIM_SERVER": "s", "RESIM_SERVER_TIMEOUT": "3", "OMP_NUM_THREADS": "2",
           "NPY_X": "1", "HOME": "/root", "PATH": "/bin"}
    assert client.behaviour_env(env) == {"RESIM_DATA": "a", "OMP_NUM_THREADS": "2", "NPY_X": "1"}


# ---- a client that leaves: its command is stopped, and the next client is answered -----------

# A billion coordinate-descent sweeps of drn_tiny.cir: hours of CPU, a command that would
# still be running at the end of any test (it is never let finish).
ENDLESS = ["--method", "cd", "--sweeps", "1000000000", "--format", "csv"]


def _parents() -> dict[int, int]:
    """The parent of every process, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                stat_line = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat_line.rsplit(")", 1)[1].split()[1])
    return parents


def _descendants(pid: int) -> set[int]:
    """The processes below ``pid``: its children, theirs, ..."""
    parents, found, level = _parents(), set(), {pid}
    while level:
        level = {p for p, parent in parents.items() if parent in level} - found
        found |= level
    return found


def _cwd(pid: int) -> str | None:
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/cwd")
    return None


def _wait_until(condition, what: str):
    """``condition()``'s first true value, tried every 10 ms; fails after :data:`GUARD_S` s."""
    deadline = time.monotonic() + GUARD_S
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {GUARD_S} s for {what}")
        time.sleep(0.01)
    return value


def _sigint_default() -> None:
    """A client takes Ctrl-C as a terminal's user would, also when the tests run in a
    background job (a shell's ``&`` starts it with SIGINT ignored, and children inherit
    that: the client would then wait out the command instead of being interrupted)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def endless_client(resim_exe, netlists_dir):
    """``endless_client(sock, server, folder)`` starts a client running the endless command
    through the server at ``sock`` from ``folder``, and returns it and the process that runs
    the command for the server (below the server, in ``folder``). Every client it started
    is killed at the end of the test (with its server gone, a client runs the command
    itself: it would never end)."""
    clients = []

    def start(sock: Path, server: subprocess.Popen, folder: Path) -> tuple[subprocess.Popen, int]:
        folder.mkdir()
        clients.append(subprocess.Popen([resim_exe, "solve", str(netlists_dir / "drn_tiny.cir"), *ENDLESS],
                                        cwd=folder, env=_env(str(sock), RESIM_SERVER_TIMEOUT=str(GUARD_S)),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=_sigint_default))
        command = _wait_until(lambda: [p for p in _descendants(server.pid) if _cwd(p) == str(folder)],
                              "the server to start the command")
        return clients[-1], command[0]

    yield start
    for proc in clients:
        proc.kill()
        proc.communicate(timeout=GUARD_S)


def test_a_command_whose_client_was_killed_is_stopped_and_the_next_client_answered(
        start_server, endless_client, tmp_path, netlists_dir):
    sock = tmp_path / "s.sock"
    server = start_server(sock)
    client_proc, command = endless_client(sock, server, tmp_path / "work")
    client_proc.kill()
    client_proc.communicate(timeout=GUARD_S)
    _wait_until(lambda: not _alive(command), "the command's process to end")
    assert_serves(str(sock), netlists_dir)  # at once: before, only after the command's hours
    assert not [p for p in _descendants(server.pid) if _cwd(p) == str(tmp_path / "work")]


def test_ctrl_c_on_a_served_solve_exits_130_quietly_and_stops_the_command(
        start_server, endless_client, tmp_path, netlists_dir):
    sock = tmp_path / "s.sock"
    server = start_server(sock)
    client_proc, command = endless_client(sock, server, tmp_path / "work")
    client_proc.send_signal(signal.SIGINT)
    out, err = client_proc.communicate(timeout=GUARD_S)
    assert (client_proc.returncode, out, err) == (130, "", "interrupted\n")  # as a command run here says it
    _wait_until(lambda: not _alive(command), "the command's process to end")
    assert_serves(str(sock), netlists_dir)


def _signal_bit(pid: int, field: str, sig: int) -> bool:
    """Whether signal ``sig`` is in the ``SigIgn``/``SigCgt`` mask of process ``pid``."""
    line = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith(field + ":"))
    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)


def test_a_server_started_with_sigint_ignored_still_stops_commands_by_sigint(
        start_server, endless_client, tmp_path, netlists_dir):
    """``resim serve &`` in a script inherits SIGINT ignored; the commands it runs must still
    take the SIGINT that stops them as Ctrl-C (exit 130, temporary files removed), not wait
    out the grace and be killed (the next client waited those 2 s)."""
    sock = tmp_path / "s.sock"
    server = start_server(sock, ignore_sigint=True)
    assert _signal_bit(server.pid, "SigIgn", signal.SIGINT)  # as the shell would leave it
    client_proc, command = endless_client(sock, server, tmp_path / "work")
    assert not _signal_bit(command, "SigIgn", signal.SIGINT) and _signal_bit(command, "SigCgt", signal.SIGINT)
    client_proc.kill()
    client_proc.communicate(timeout=GUARD_S)
    _wait_until(lambda: not _alive(command), "the command's process to end")
    assert_serves(str(sock), netlists_dir)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_server_stopped_while_it_runs_a_command_leaves_no_process(start_server, endless_client, tmp_path):
    sock = tmp_path / "s.sock"
    server = start_server(sock)
    _, command = endless_client(sock, server, tmp_path / "work")
    below = _descendants(server.pid)  # the command, the fork server, multiprocessing's helper
    assert command in below
    server.terminate()
    assert server.wait(GUARD_S) == 0
    _wait_until(lambda: not any(_alive(p) for p in below), "every process of the server to end")


def test_a_command_whose_process_dies_is_refused_and_the_server_serves_on(start_server, tmp_path, netlists_dir):
    """Its client (here the raw protocol) gets a refusal saying so, and would run the command itself."""
    sock = tmp_path / "s.sock"
    server = start_server(sock)
    work = tmp_path / "work"
    work.mkdir()
    req = request(["solve", str(netlists_dir / "drn_tiny.cir"), *ENDLESS], str(work))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        _connect(conn, str(sock))
        conn.sendall(json.dumps(req).encode())
        conn.shutdown(socket.SHUT_WR)
        (command,) = _wait_until(lambda: [p for p in _descendants(server.pid) if _cwd(p) == str(work)],
                                 "the server to start the command")
        os.kill(command, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        reply = json.loads(_read_until_hangup(conn))
    assert reply == {"code": None, "error": "the command's process ended without an answer (exit code -9)"}
    assert_serves(str(sock), netlists_dir)


@pytest.mark.parametrize("closed, netlist, code", [
    ("stderr", "bad.cir", 3),  # the error message is lost, not its exit code
    ("stdout", "divider.cir", 0),  # `| head` took what it wanted: quietly, as success
])
def test_a_served_command_writing_into_a_closed_pipe_exits_as_it_would_here(
        resim_exe, server, netlists_dir, tmp_path, closed, netlist, code):
    (tmp_path / "bad.cir").write_text("bad\nR1 a b x\n")
    path = tmp_path / netlist if netlist == "bad.cir" else netlists_dir / netlist
    read_end, write_end = os.pipe()
    os.close(read_end)
    streams = {closed: write_end, "stdout" if closed == "stderr" else "stderr": subprocess.PIPE}
    try:
        done = subprocess.run([resim_exe, "solve", str(path), "--format", "csv"], env=_env(server), timeout=120,
                              stdin=subprocess.DEVNULL, **streams)
    finally:
        os.close(write_end)
    assert done.returncode == code
    assert not (done.stdout or done.stderr), done.stdout or done.stderr  # no traceback, nothing more
