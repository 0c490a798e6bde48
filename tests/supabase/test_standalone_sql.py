"""The standalone gateway given an --sql file PostgreSQL refuses: one line naming the file and the
database's complaint, exit 2, no traceback (the external suites' seeds, e.g. one needing PostGIS)."""

from __future__ import annotations

import subprocess
import sys


def test_a_refused_sql_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "needs-postgis.sql"
    bad.write_text("create table ok_so_far (id int);\ncreate extension if not exists no_such_extension_here;\n")
    done = subprocess.run([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0", "--sql", str(bad)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "needs-postgis.sql" in lines[0] and 'extension "no_such_extension_here" is not available' in lines[0]
    assert done.stdout == ""


def test_an_unreachable_dsn_is_one_line_and_exit_2_with_the_password_hidden():
    done = subprocess.run([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0",
                           "--dsn", "postgresql://nobody:hunter2hunter2@127.0.0.1:1/none"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--dsn postgresql://nobody:***@127.0.0.1:1/none" in lines[0] and "Connection refused" in lines[0]
    assert done.stdout == ""
