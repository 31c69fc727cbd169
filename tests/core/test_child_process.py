"""Children (ffmpeg, ffprobe, the yt-dlp worker) get a minimal environment and a memory limit.

The bot's secrets sit in this process's environment in these tests (``DISCORD_TOKEN``, a
proxy URL with a password, a cloud key); a fake ffmpeg that writes down its environment,
and the real yt-dlp worker's ``/proc/<pid>/environ``, must show none of them.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from musicrec_core import child_process
from musicrec_core.audio import load_clip
from musicrec_core.child_process import (
    NORMAL_PRIORITY,
    YTDLP_MEMORY_LIMIT_BYTES,
    ChildPriority,
    child_environment,
    ran_out_of_memory,
    spawn,
)
from musicrec_core.errors import AudioError
from musicrec_core.sources.ytdlp_fetch import YouTubeSettings, YtDlpProcess, _serve_test_video
from musicrec_core.sources.ytdlp_workers import YtDlpWorkers
from tests.helpers.fake_tools import UseFfmpeg, fake_tool, use_ffmpeg
from tests.helpers.media import MakeMedia

__all__ = ["use_ffmpeg"]  # the fixture, used below

SECRETS = {
    "DISCORD_TOKEN": "secret.discord.token",
    "MUSICREC_YTDLP_PROXY": "socks5://user:hunter2@proxy.example:1080",
    "HTTPS_PROXY": "http://user:hunter2@proxy.example:3128",
    "http_proxy": "http://user:hunter2@proxy.example:3128",
    "AWS_SECRET_ACCESS_KEY": "not-for-children",
    "PYTHONPATH": "/somewhere/else",
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Put the bot's secrets (and a locale) in this process's environment."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("LANG", "C.UTF-8")
    return SECRETS


def assert_minimal(environment: dict[str, str]) -> None:
    for name, value in SECRETS.items():
        assert name not in environment
        assert all(value not in other for other in environment.values())
    assert "hunter2" not in json.dumps(environment)
    for name in ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"):
        assert name in environment, name


def test_child_environment_keeps_only_what_children_need() -> None:
    source = {**SECRETS, "PATH": "/bin", "HOME": "/home/x", "TMPDIR": "/t", "LANG": "C",
              "LC_ALL": "C.UTF-8", "LC_CTYPE": "C", "TERM": "xterm", "DISPLAY": ":0"}  # fmt: skip
    assert child_environment(source) == {
        "PATH": "/bin", "HOME": "/home/x", "TMPDIR": "/t", "LANG": "C",
        "LC_ALL": "C.UTF-8", "LC_CTYPE": "C",
    }  # fmt: skip


def test_ffmpeg_and_ffprobe_never_see_the_secrets(
    secrets: dict[str, str], use_ffmpeg: UseFfmpeg, make_media: MakeMedia, tmp_path: Path
) -> None:
    path = make_media("tone.wav", seconds=2)
    reports = tmp_path / "env"
    reports.mkdir()
    spy = (
        "import json, os, sys\n"
        "name = os.path.basename(sys.argv[0])\n"
        "name += '-buildconf' if '-buildconf' in sys.argv else ''\n"
        f"json.dump(dict(os.environ), open({str(reports)!r} + '/' + name, 'w'))\n"
        "sys.exit(1)\n"
    )
    tools = tmp_path / "tools"
    fake_tool(tools, "ffprobe", spy)
    use_ffmpeg(fake_tool(tools, "ffmpeg", spy))
    with pytest.raises(AudioError):
        load_clip(path)
    seen = {report.name: json.loads(report.read_text()) for report in reports.iterdir()}
    assert {"ffprobe", "ffmpeg-buildconf"} <= set(seen)
    for environment in seen.values():
        assert_minimal(environment)


def test_the_ytdlp_worker_never_sees_the_secrets(secrets: dict[str, str], tmp_path: Path) -> None:
    """The worker (and so yt-dlp's ffmpeg and JavaScript runtime) starts with the minimum.
    A pool of its own: an idle worker of the default pool may predate the secrets."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    workers = YtDlpWorkers()
    settings = YouTubeSettings(socket_timeout_s=1.0)
    with (
        _serve_test_video("envTest_01", "http://127.0.0.1:9/none.mp3"),
        YtDlpProcess("envTest_01", workdir, settings, workers) as process,
    ):
        pid = process.pid
        raw = Path(f"/proc/{pid}/environ").read_bytes()
        limits = Path(f"/proc/{pid}/limits").read_text()
    workers.close()
    environment = dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)
    assert_minimal(environment)
    data_line = next(line for line in limits.splitlines() if line.startswith("Max data size"))
    assert data_line.split()[3:5] == [str(YTDLP_MEMORY_LIMIT_BYTES)] * 2


def test_spawn_sets_the_memory_limit(tmp_path: Path) -> None:
    limit = 300 * 2**20
    process = spawn(
        [sys.executable, "-c", "import resource; print(resource.getrlimit(resource.RLIMIT_DATA))"],
        memory_limit_bytes=limit,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = process.communicate(timeout=30)
    assert out.strip() == str((limit, limit))
    assert resource.getrlimit(resource.RLIMIT_DATA) != (limit, limit)  # the parent is untouched


GREEDY_CHILD = """
import mmap, resource, sys
limits = resource.getrlimit(resource.RLIMIT_DATA)  # its very first action
try:  # then, before reading any input, twice the limit, private and writable (data memory)
    mapping = mmap.mmap(-1, 2 * int(sys.argv[1]), flags=mmap.MAP_PRIVATE)
    outcome = "mapped"
except OSError:
    outcome = "refused"
print(limits, outcome, flush=True)
sys.exit(3 if outcome == "refused" else 0)
"""


@pytest.mark.parametrize("shell", [True, False], ids=["through /bin/sh", "no /bin/sh"])
def test_a_child_is_limited_before_its_first_instruction_however_late_the_host_runs(
    shell: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host is held up right after Popen returns (as a busy machine or another thread
    holding the GIL may hold it) until the child has acted: the child's first action
    reads its limit, its second maps twice the limit before it reads any input. The limit
    is already there and the mapping is refused. (Setting the limit from the parent once
    Popen returned left this child unlimited, and its mapping went through.) Without
    /bin/sh, the slower preexec_fn sets it, as early."""
    monkeypatch.setattr(child_process, "_has_shell", lambda: shell)
    real_popen = subprocess.Popen
    reports: list[str] = []

    def held_up_popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        child = real_popen(*args, **kwargs)
        reports.append(child.stdout.readline())  # the host runs again once the child acted
        return child

    monkeypatch.setattr(subprocess, "Popen", held_up_popen)
    limit = 256 * 2**20
    script = tmp_path / "greedy.py"
    script.write_text(GREEDY_CHILD)
    process = spawn(
        [sys.executable, "-I", "-S", str(script), str(limit)],
        memory_limit_bytes=limit,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.communicate("", timeout=60)
    assert reports == [f"{(limit, limit)} refused\n"]
    assert process.returncode == 3


def test_a_missing_or_unrunnable_program_still_raises(tmp_path: Path) -> None:
    """The wrapper starts fine either way, so spawn finds the program first."""
    with pytest.raises(FileNotFoundError):
        spawn(["musicrec-no-such-program"], memory_limit_bytes=2**30)
    with pytest.raises(FileNotFoundError):
        spawn([str(tmp_path / "nothing")], memory_limit_bytes=2**30)
    not_executable = tmp_path / "tool"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        spawn([str(not_executable)], memory_limit_bytes=2**30)


def test_spawn_lets_python_vfork(monkeypatch: pytest.MonkeyPatch) -> None:
    """No preexec_fn (which would force a full fork of a large parent); the limit comes
    from the exec wrapper instead, before the program has read anything."""
    seen: list[object] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs.get("preexec_fn"))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    limit = 256 * 2**20
    script = (
        "import resource, sys; sys.stdin.readline(); "
        "print(resource.getrlimit(resource.RLIMIT_DATA))"
    )
    process = spawn(
        [sys.executable, "-c", script],
        memory_limit_bytes=limit,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = process.communicate("go\n", timeout=30)
    assert seen == [None]
    assert out.strip() == str((limit, limit))


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no process priorities here")
def test_children_start_lowered_once_asked_and_the_parent_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After set_child_niceness(5) a child (and what it starts) runs 5 nice levels below
    this process, which keeps its own priority (more with a ChildPriority's later_by);
    before, children run at this priority."""
    nice = "os.getpriority(os.PRIO_PROCESS, 0)"
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert _child_and_grandchild(NORMAL_PRIORITY, nice) == [mine, mine]
    monkeypatch.setattr(child_process, "_child_niceness", 0)  # restored after the test
    child_process.set_child_niceness(5)
    assert _child_and_grandchild(NORMAL_PRIORITY, nice) == [min(19, mine + 5)] * 2
    assert _child_and_grandchild(ChildPriority(later_by=3), nice) == [min(19, mine + 8)] * 2
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine
    with pytest.raises(ValueError, match="0-19"):
        child_process.set_child_niceness(20)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="no idle scheduling class here")
def test_a_background_child_and_what_it_starts_run_in_the_idle_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A background child runs in SCHED_IDLE (so does its own child), whatever the child
    niceness; an ordinary child keeps this process's policy, and so does this process."""
    policy = "os.sched_getscheduler(0)"
    monkeypatch.setattr(child_process, "_child_niceness", 0)  # restored after the test
    child_process.set_child_niceness(5)
    mine = os.sched_getscheduler(0)
    assert mine != os.SCHED_IDLE
    assert _child_and_grandchild(ChildPriority(background=True), policy) == [os.SCHED_IDLE] * 2
    assert _child_and_grandchild(ChildPriority(later_by=3), policy) == [mine] * 2
    assert os.sched_getscheduler(0) == mine


def _child_and_grandchild(priority: ChildPriority, expression: str) -> list[int]:
    """``expression`` (an int, with ``os`` imported) evaluated in a child started by
    :func:`spawn` at ``priority`` once it has been lowered, then in that child's child."""
    script = (
        "import os, subprocess, sys; sys.stdin.readline(); "
        f"print({expression}); sys.stdout.flush(); "
        f"subprocess.run([sys.executable, '-c', 'import os; print({expression})'])"
    )
    process = spawn(
        [sys.executable, "-c", script],
        memory_limit_bytes=child_process.DECODER_MEMORY_LIMIT_BYTES,
        priority=priority,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = process.communicate("go\n", timeout=30)
    return [int(line) for line in out.split()]


def test_out_of_memory_messages_are_recognised() -> None:
    assert ran_out_of_memory("Error while decoding: Cannot allocate memory")
    assert ran_out_of_memory(
        "ffmpeg: error while loading shared libraries: x.so: "
        "failed to map segment from shared object"
    )
    assert not ran_out_of_memory("Invalid data found when processing input")
    assert child_process.DECODER_MEMORY_LIMIT_BYTES >= 256 * 2**20
