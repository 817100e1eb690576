"""Evidence files are read only inside the application's folder, and reading them leaves nothing behind.

An application names its trip logs and incident records by path; whoever wrote the application
chose those paths, and the check may run in an office beside its key and its database. A path is
read only when it names a regular file inside the folder of the application file; every other path
— outside, absolute, through a symbolic link that leads out, a device, a FIFO, a folder, missing —
gets the same message, so that the message never tells whether a file exists elsewhere
(docs/evidence.md, "Where evidence files may be").

The rows are kept in SQLite's anonymous temporary database: a check that ends normally, with bad
input, or killed (SIGKILL) while it reads leaves no file in the temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest
from builders import AS_OF, SECTION
from evidence_builders import CST, ev_app, hours_trips, to_app, vins_of, write_trips
from test_evidence import write_app

from icv_permits.adapters import evidence
from icv_permits.core.errors import InputError, show
from icv_permits.services.precheck import check_application

ROOT = Path(__file__).resolve().parents[1]
AS_OF_TEXT = AS_OF.isoformat()
NOT_EVIDENCE = {
    "en": "cannot be read as evidence (<path>): only regular files inside the application's folder are read",
    "zh": "不能作为证据读取（<path>）：只读取申请文件所在文件夹内的普通文件",
}


def cli(*args: object, cwd: Path = ROOT, env: dict[str, str] | None = None, stdin: Any = None) -> subprocess.CompletedProcess:
    """``python -m icv_permits.cli *args``; a check that hangs (a FIFO opened) fails after 120 s."""
    base = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG")}
    base["PYTHONIOENCODING"] = "utf-8"
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", *map(str, args)], cwd=cwd, env={**base, **(env or {})},
                       stdin=stdin, capture_output=True, encoding="utf-8", errors="replace", timeout=120, check=False)
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return r


def good_trips(path: Path, d: dict[str, Any]) -> Path:
    """A trip log that would be read without a bad row (so that only its place can refuse it)."""
    return write_trips(path, hours_trips(vins_of(d)[0], 4, 10, 50_000))


# ====================================================================== the office around the folder


@pytest.fixture
def office(tmp_path: Path) -> dict[str, Path]:
    """An office folder holding its key, its database and a readable trip log, and the folder an
    application was saved in (``inbox``), inside it. Every file outside ``inbox`` is readable by
    the process: only the confinement keeps it out."""
    d = ev_app()
    root = tmp_path / "office"
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    (root / "secret.key").write_bytes(b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n")
    db = sqlite3.connect(root / "icv-permits.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    good_trips(root / "trips.csv", d)  # a well-formed log outside: read, it would count
    (root / "elsewhere").mkdir()
    good_trips(root / "elsewhere" / "trips.csv", d)
    return {"root": root, "inbox": inbox}


def _symlink(target: str | Path, link: Path) -> None:
    os.symlink(target, link)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
    except OSError:  # the path is too long for a socket address here
        s.close()
        return None
    return s


# case → (the path the application writes, how to prepare the inbox, given the office)
HOSTILE: dict[str, tuple[str, Any]] = {
    "a symlink to /etc/passwd": ("passwd.csv", lambda o: _symlink("/etc/passwd", o["inbox"] / "passwd.csv")),
    "a symlink to the office's key": ("key.csv", lambda o: _symlink(o["root"] / "secret.key", o["inbox"] / "key.csv")),
    "a relative symlink out": ("trips.csv", lambda o: _symlink("../trips.csv", o["inbox"] / "trips.csv")),
    "a symlinked folder out (absolute)": ("logs/trips.csv", lambda o: _symlink(o["root"] / "elsewhere", o["inbox"] / "logs")),
    "a symlinked folder out (relative)": ("logs/trips.csv", lambda o: _symlink("../elsewhere", o["inbox"] / "logs")),
    "a symlink to an absolute path inside": ("latest.csv", lambda o: (good_trips(o["inbox"] / "real.csv", ev_app()),
                                                                      _symlink(o["inbox"] / "real.csv", o["inbox"] / "latest.csv"))),
    "a symlink loop": ("a.csv", lambda o: (_symlink("b.csv", o["inbox"] / "a.csv"), _symlink("a.csv", o["inbox"] / "b.csv"))),
    "../ out to a readable log": ("../trips.csv", None),
    "../ through a subfolder": ("logs/../../elsewhere/trips.csv", lambda o: (o["inbox"] / "logs").mkdir()),
    "the office's secret.key": ("../secret.key", None),
    "the office's SQLite database": ("../icv-permits.db", None),
    "an absolute path outside": ("<root>/trips.csv", None),
    "an absolute path inside": ("<inbox>/real.csv", lambda o: good_trips(o["inbox"] / "real.csv", ev_app())),
    "/etc/passwd": ("/etc/passwd", None),
    "/proc/self/environ": ("/proc/self/environ", None),
    "../…/proc/self/environ": ("../" * 40 + "proc/self/environ", None),
    "/dev/zero": ("/dev/zero", None),
    "a symlink to /dev/zero": ("zero.csv", lambda o: _symlink("/dev/zero", o["inbox"] / "zero.csv")),
    "a FIFO": ("pipe.csv", lambda o: _fifo(o["inbox"] / "pipe.csv")),
    "a socket": ("sock", lambda o: _socket(o["inbox"] / "sock")),
    "a directory": ("logs", lambda o: (o["inbox"] / "logs").mkdir()),
    "a directory with a slash": ("logs/", lambda o: (o["inbox"] / "logs").mkdir()),
    "a file named as a folder": ("real.csv/", lambda o: good_trips(o["inbox"] / "real.csv", ev_app())),
    "the folder itself": (".", None),
    "a missing file": ("nope.csv", None),
    "a missing file outside": ("../nope.csv", None),
    "a missing folder": ("no/such/trips.csv", None),
    "a file below a file": ("real.csv/trips.csv", lambda o: good_trips(o["inbox"] / "real.csv", ev_app())),
}


def test_a_nul_in_an_evidence_path_is_refused_at_the_field(office):
    """A NUL is refused by the application's own text type before any file is looked at (no file
    name holds one), with the field named."""
    app = write_app(ev_app(("trips\0.csv",)), office["inbox"])
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", "en")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "evidence.trips[0]: must not contain the NUL character" in r.stderr


def _written(case: str, o: dict[str, Path]) -> str:
    return HOSTILE[case][0].replace("<root>", str(o["root"])).replace("<inbox>", str(o["inbox"]))


def _prepare(case: str, o: dict[str, Path]) -> Any:
    prep = HOSTILE[case][1]
    return prep(o) if prep else None


def _one_message(stderr: str, written: str, field: str = "evidence.trips[0]") -> str:
    """The message with the path as written replaced by ``<path>``: the same for every refusal."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith(field + ":")]
    assert len(lines) == 1, stderr
    message = lines[0][len(field) + 2:]
    shown = show(written, 200)
    assert shown in message, (shown, message)
    return f"{field}: " + message.replace(shown, "<path>", 1)


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_a_hostile_path_is_refused_with_the_one_message(office, case):
    keep = _prepare(case, office)
    if case == "a socket" and keep is None:
        pytest.skip("the temporary path is too long for a socket address")
    written = _written(case, office)
    d = ev_app((written,))
    app = write_app(d, office["inbox"])
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", "en")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert _one_message(r.stderr, written) == "evidence.trips[0]: " + NOT_EVIDENCE["en"]
    # nothing of the file that was not read is shown
    assert "PRIVATE KEY" not in r.stderr and "root:" not in r.stderr and "SQLite" not in r.stderr
    if case not in ("a FIFO",):  # in-process too (a FIFO is only ever opened in a subprocess)
        with pytest.raises(InputError) as exc:
            check_application(to_app(d), as_of=AS_OF, base_dir=office["inbox"])
        assert [(p.location, p.code) for p in exc.value.problems] == [("evidence.trips[0]", "not_evidence")]
    if keep is not None and hasattr(keep, "close"):
        keep.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions")
def test_a_file_without_read_permission_gets_the_one_message(office):
    path = good_trips(office["inbox"] / "locked.csv", ev_app())
    path.chmod(0)
    app = write_app(ev_app(("locked.csv",)), office["inbox"])
    r = cli("check", app, "--as-of", AS_OF_TEXT, "--lang", "en")
    assert r.returncode == 2
    assert _one_message(r.stderr, "locked.csv") == "evidence.trips[0]: " + NOT_EVIDENCE["en"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_message_is_the_same_in_each_language_whether_the_file_exists_or_not(office, lang):
    """The oracle the review found: a file outside that exists and one that does not read alike."""
    out = {}
    for written in ("../secret.key", "../no-such.key", "/etc/passwd", "/etc/no-such-file"):
        r = cli("check", write_app(ev_app((written,)), office["inbox"]), "--as-of", AS_OF_TEXT, "--lang", lang)
        assert r.returncode == 2
        out[written] = _one_message(r.stderr, written)
    assert set(out.values()) == {"evidence.trips[0]: " + NOT_EVIDENCE[lang]}


def test_an_incident_file_outside_names_its_field(office):
    d = ev_app(("trips.csv",), ("ok.csv", "../secret.key"))
    good_trips(office["inbox"] / "trips.csv", d)
    (office["inbox"] / "ok.csv").write_text("date,vin,kind\n", encoding="utf-8")
    r = cli("check", write_app(d, office["inbox"]), "--as-of", AS_OF_TEXT, "--lang", "en")
    assert r.returncode == 2
    assert _one_message(r.stderr, "../secret.key", "evidence.incidents[1]") == "evidence.incidents[1]: " + NOT_EVIDENCE["en"]


# ====================================================================== what is read


def _inside(o: dict[str, Path], d: dict[str, Any]) -> Path:
    """inbox/logs/trips.csv, the one real log, and links to it that stay inside."""
    inbox = o["inbox"]
    (inbox / "logs").mkdir()
    real = good_trips(inbox / "logs" / "trips.csv", d)
    os.symlink("logs/trips.csv", inbox / "latest.csv")
    os.symlink("logs", inbox / "current")
    os.symlink("../logs/trips.csv", inbox / "logs" / "self.csv")
    os.symlink("latest.csv", inbox / "chain.csv")
    return real


GOOD = ["logs/trips.csv", "./logs/trips.csv", "logs//trips.csv", "logs/./trips.csv", "logs/../logs/trips.csv",
        "latest.csv", "current/trips.csv", "logs/self.csv", "chain.csv", "current/../latest.csv"]


@pytest.mark.parametrize("written", GOOD)
def test_a_relative_path_inside_is_read(office, written):
    """Subfolders, ``..`` that stays inside, and symbolic links with relative targets that stay
    inside are followed (the walk resolves them itself, never above the folder)."""
    d = ev_app((written,))
    real = _inside(office, d)
    r = check_application(to_app(d), as_of=AS_OF, base_dir=office["inbox"])
    [f] = r.decision.evidence.files
    data = real.read_bytes()
    assert (f.path, f.sha256, f.bytes, f.rows) == (written, hashlib.sha256(data).hexdigest(), len(data), 4)


def test_the_cli_reads_a_log_in_a_subfolder_through_a_link_inside(office):
    d = ev_app(("current/trips.csv",), sections=[SECTION])
    _inside(office, d)
    r = cli("check", write_app(d, office["inbox"]), "--as-of", AS_OF_TEXT, "--format", "json")
    assert r.returncode in (0, 1, 3), r.stderr
    assert '"current/trips.csv"' in r.stdout


def test_the_folder_may_be_reached_through_a_link(office, tmp_path):
    """The folder is the application file's folder as the user named it: a link to the folder is
    the user's own choice, not the application's."""
    d = ev_app(("trips.csv",))
    good_trips(office["inbox"] / "trips.csv", d)
    write_app(d, office["inbox"])
    os.symlink(office["inbox"], tmp_path / "shortcut")
    r = cli("check", tmp_path / "shortcut" / "app.yaml", "--as-of", AS_OF_TEXT, "--lang", "en")
    assert r.returncode in (0, 1, 3), r.stderr


# ====================================================================== the office reads the same way


@pytest.mark.parametrize("written", ["../secret.key", "../no-such.key"])
def test_submit_refuses_a_path_outside_and_stores_nothing(store, office, written):
    """``icv-permits submit`` reads the evidence of the submitted file by the same rules: the key
    next to the inbox is not read, and the submission is not recorded."""
    from sqlmodel import select

    from icv_permits.adapters.store import tables
    from icv_permits.services import office as W
    from icv_permits.services.precheck import FixedClock

    d = ev_app((written,))
    app = write_app(d, office["inbox"])
    clock = FixedClock(pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai"))
    with pytest.raises(InputError) as exc:
        W.submit(store, app, actor="审核员甲", clock=clock)
    assert [(p.location, p.code) for p in exc.value.problems] == [("evidence.trips[0]", "not_evidence")]
    with store.read() as s:
        assert s.exec(select(tables.Submission)).all() == []


def test_submit_reads_a_log_inside(store, office):
    from icv_permits.services import office as W
    from icv_permits.services.precheck import FixedClock

    d = ev_app(("logs/trips.csv",))
    (office["inbox"] / "logs").mkdir()
    real = good_trips(office["inbox"] / "logs" / "trips.csv", d)
    clock = FixedClock(pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai"))
    res = W.submit(store, write_app(d, office["inbox"]), actor="审核员甲", clock=clock)
    [f] = res.decision.evidence.files
    assert (f.path, f.sha256) == ("logs/trips.csv", hashlib.sha256(real.read_bytes()).hexdigest())


# ====================================================================== no folder


def test_an_application_without_a_folder_reads_no_evidence(office):
    """A draft typed into the terminal app or taken from the store has no folder: the working
    directory is not used instead (in an office it may hold the key and the database)."""
    d = ev_app(("trips.csv",))
    good_trips(office["inbox"] / "trips.csv", d)
    with pytest.raises(InputError) as exc:
        check_application(to_app(d), as_of=AS_OF, base_dir=None)
    assert [(p.location, p.code) for p in exc.value.problems] == [("evidence.trips[0]", "no_folder")]
    assert "trips.csv" in exc.value.problems[0].render("en")


def test_an_application_read_from_stdin_has_no_folder(office):
    """``check /dev/stdin < app.yaml``: the application is read, its folder would be /dev (or
    /proc/self/fd): no evidence is read from there."""
    d = ev_app(("trips.csv",))
    good_trips(office["inbox"] / "trips.csv", d)
    app = write_app(d, office["inbox"])
    with app.open("rb") as fh:
        r = cli("check", "/dev/stdin", "--as-of", AS_OF_TEXT, "--lang", "en", cwd=office["inbox"], stdin=fh)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "evidence.trips[0]: cannot be read as evidence (trips.csv)" in r.stderr


# ====================================================================== the check and the open are one


def _swap_on_open(monkeypatch, name: str, swap) -> list[str]:
    """Run ``swap(dir_fd)`` just before the evidence reader opens ``name``: an attacker who
    changes the folder between the look at an entry and its open."""
    real = os.open
    done: list[str] = []

    def spy(path, flags, mode=0o777, *, dir_fd=None):
        if path == name and dir_fd is not None and not done:
            done.append(path)
            swap(dir_fd)
        return real(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(evidence.os, "open", spy)
    return done


SWAPS = {
    "the file for a link out": ("trips.csv", lambda o, fd: (os.unlink("trips.csv", dir_fd=fd),
                                                             os.symlink(str(o["root"] / "secret.key"), "trips.csv", dir_fd=fd))),
    "the file for a FIFO": ("trips.csv", lambda o, fd: (os.unlink("trips.csv", dir_fd=fd), os.mkfifo("trips.csv", dir_fd=fd))),
    "the file for another file": ("trips.csv", lambda o, fd: os.rename("other.csv", "trips.csv", src_dir_fd=fd, dst_dir_fd=fd)),
    "the folder for a link out": ("logs", lambda o, fd: (os.rename("logs", "logs.old", src_dir_fd=fd, dst_dir_fd=fd),
                                                          os.symlink(str(o["root"] / "elsewhere"), "logs", dir_fd=fd))),
}


@pytest.mark.parametrize("case", list(SWAPS), ids=list(SWAPS))
def test_an_entry_swapped_between_the_look_and_the_open_is_refused(office, monkeypatch, case):
    name, swap = SWAPS[case]
    inbox = office["inbox"]
    written = "logs/trips.csv" if name == "logs" else "trips.csv"
    d = ev_app((written,))
    (inbox / "logs").mkdir()
    good_trips(inbox / written, d)
    good_trips(inbox / "other.csv", d)
    done = _swap_on_open(monkeypatch, name, lambda fd: swap(office, fd))
    with pytest.raises(InputError) as exc:
        evidence.summarise(to_app(d), inbox, _pack(), AS_OF)
    assert done == [name]
    assert [(p.location, p.code) for p in exc.value.problems] == [("evidence.trips[0]", "not_evidence")]


_PACK = None


def _pack():
    global _PACK
    if _PACK is None:
        from icv_permits.adapters.packs import load_pack

        _PACK = load_pack("anhui-2025")
    return _PACK


# ====================================================================== size


def test_a_file_above_the_size_limit_is_refused(office, monkeypatch):
    d = ev_app(("trips.csv",))
    path = good_trips(office["inbox"] / "trips.csv", d)
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError) as exc:
        evidence.summarise(to_app(d), office["inbox"], _pack(), AS_OF)
    assert [(p.location, p.code) for p in exc.value.problems] == [("trips.csv", "too_large")]
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_BYTES", path.stat().st_size)  # the limit itself is allowed
    assert evidence.summarise(to_app(d), office["inbox"], _pack(), AS_OF) is not None


def test_a_file_growing_past_the_limit_while_read_is_refused(office, monkeypatch):
    d = ev_app(("trips.csv",))
    path = good_trips(office["inbox"] / "trips.csv", d)
    size = path.stat().st_size
    monkeypatch.setattr(evidence, "MAX_EVIDENCE_BYTES", size + 10)
    with evidence._Folder(office["inbox"]) as folder, folder.open("trips.csv", "evidence.trips[0]") as src:
        with path.open("ab") as fh:  # opened, then appended to: the size looked at no longer holds
            fh.write(b"\n" * 11)
        with pytest.raises(InputError) as exc:
            list(evidence._rows(src, "trips.csv", evidence.TRIP_COLUMNS, evidence._ALL_TRIP_COLUMNS))
    assert exc.value.codes == ["too_large"]


def test_the_digest_is_of_the_bytes_read(office):
    """One descriptor is hashed and parsed: the recorded digest and size are of what was counted."""
    d = ev_app(("trips.csv",))
    path = good_trips(office["inbox"] / "trips.csv", d)
    s = evidence.summarise(to_app(d), office["inbox"], _pack(), AS_OF)
    data = path.read_bytes()
    assert (s.files[0].sha256, s.files[0].bytes) == (hashlib.sha256(data).hexdigest(), len(data))


# ====================================================================== no temporary file left behind


ROWS = 300_000  # beyond SQLite's 16 MB page cache (about 200,000 rows), so that it spills to a file while reading


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A folder with a large trip log of one vehicle (trips one minute apart) and an application naming it."""
    folder = tmp_path_factory.mktemp("big")
    d = ev_app(("trips.csv",))
    vin = vins_of(d)[0]
    t0 = datetime(2025, 7, 1, tzinfo=CST)
    with (folder / "trips.csv").open("w", encoding="utf-8") as fh:
        fh.write("vin,trip_id,start,end,distance_km,mode,section\n")
        minute = timedelta(minutes=1)
        for i in range(ROWS):
            s = t0 + i * minute
            fh.write(f"{vin},T{i:07d},{s.isoformat()},{(s + minute / 2).isoformat()},0.1,autonomous,{SECTION}\n")
    write_app(d, folder, "app.yaml")
    return folder


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ICV_PERMITS_LANG", "ICV_PERMITS_DEBUG", "SQLITE_TMPDIR")}
    env["TMPDIR"] = str(tmp)
    return env


def _open_files(pid: int) -> list[str]:
    out = []
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for n in names:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{n}"))
        except OSError:
            continue
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to watch the check's open files")
def test_a_check_killed_while_reading_leaves_no_temporary_file(big, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "icv_permits.cli", "check", "app.yaml", "--as-of", AS_OF_TEXT],
                            cwd=big, env=_env(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: list[str] = []
    named: list[str] = []
    try:
        # wait until it is reading the log, then kill it there
        while proc.poll() is None:
            files = _open_files(proc.pid)
            if str(big / "trips.csv") in files:
                named = os.listdir(tmp)
                seen = [f for f in files if f.startswith(str(tmp) + os.sep)]
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the check ended before it was seen reading the log: make the log larger"
    # a file it may write in TMPDIR has no name already while it is being written …
    assert all(f.endswith(" (deleted)") for f in seen), seen
    assert named == []
    # … so killing the process leaves nothing
    assert os.listdir(tmp) == []


@pytest.mark.parametrize("case", ["normal exit", "bad rows", "not UTF-8", "refused path"])
def test_a_check_that_ends_leaves_no_temporary_file(tmp_path, case):
    """Whatever the way the check ends, the temporary folder is as it was (no file is named in it
    at any time: test_a_check_killed_while_reading_leaves_no_temporary_file)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    d = ev_app(("trips.csv", "more.csv"))
    good_trips(tmp_path / "trips.csv", d)
    more = {"normal exit": b"vin,trip_id,start,end,distance_km,mode,section\n",
            "bad rows": f"vin,trip_id,start,end,distance_km,mode,section\n{vins_of(d)[0]},X,x,y,1,manual,{SECTION}\n".encode(),
            "not UTF-8": "vin,trip_id,start,end,distance_km,mode,section\n测试\n".encode("gbk")}.get(case)
    if more is not None:
        (tmp_path / "more.csv").write_bytes(more)
    write_app(d, tmp_path)
    r = subprocess.run([sys.executable, "-m", "icv_permits.cli", "check", "app.yaml", "--as-of", AS_OF_TEXT, "--lang", "en"],
                       cwd=tmp_path, env=_env(tmp), capture_output=True, encoding="utf-8", timeout=120, check=False)
    assert "Traceback" not in r.stderr
    assert (r.returncode != 2) == (case == "normal exit"), r.stderr
    assert os.listdir(tmp) == []
