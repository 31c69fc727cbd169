"""scripts/check_structure.py proven on small synthetic trees: it catches a cycle (however
the import is written), a long module and a core that imports the bot or discord."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_structure.py"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path -> source) below ``root``, with empty package __init__s."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    for package in ("musicrec_core", "bot"):
        for folder in [root / package, *(p for p in (root / package).rglob("*") if p.is_dir())]:
            if folder.is_dir() and not (folder / "__init__.py").exists():
                (folder / "__init__.py").write_text("")
    return root


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/a.py": "import os\nfrom musicrec_core import b\n",
            "musicrec_core/b.py": "import numpy\n",
            "bot/app.py": "import discord\nfrom musicrec_core.a import thing\n",
        },
    )
    assert checker.check(root) == []
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("structure ok")


def test_a_cycle_is_reported_once_with_where_each_import_is(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/a.py": "from musicrec_core import b\n",
            "musicrec_core/b.py": "\nimport musicrec_core.c\n",
            "musicrec_core/c.py": "from musicrec_core.a import name\n",
        },
    )
    assert checker.check(root) == [
        "import cycle: musicrec_core.a -> musicrec_core.b -> musicrec_core.c -> musicrec_core.a"
        " [musicrec_core/a.py:1, musicrec_core/b.py:2, musicrec_core/c.py:1]"
    ]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == checker.check(root)


def test_relative_and_function_level_imports_close_cycles(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/pkg/__init__.py": "from .one import x\n",
            "musicrec_core/pkg/one.py": "def f():\n    from . import two\n",
            "musicrec_core/pkg/two.py": "from ..pkg.one import f\n",
        },
    )
    assert checker.check(root) == [
        "import cycle: musicrec_core.pkg.one -> musicrec_core.pkg.two -> musicrec_core.pkg.one"
        " [musicrec_core/pkg/one.py:2 in a function, musicrec_core/pkg/two.py:1]"
    ]


def test_type_checking_cycles_are_marked(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "bot/app.py": "from bot.views import Button\n",
            "bot/views.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from bot.app import App\n"
                "else:\n"
                "    import json\n"
            ),
        },
    )
    assert checker.check(root) == [
        "import cycle: bot.app -> bot.views -> bot.app"
        " [bot/app.py:1, bot/views.py:3 under TYPE_CHECKING]"
    ]


def test_from_package_import_name_is_not_a_cycle_with_a_sibling(tmp_path: Path) -> None:
    """``from pkg import sub`` depends on pkg.sub, not on pkg's __init__."""
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/pkg/__init__.py": "from musicrec_core.pkg.sub import VALUE\n",
            "musicrec_core/pkg/sub.py": "VALUE = 1\n",
            "musicrec_core/user.py": "from musicrec_core.pkg import sub\n",
        },
    )
    assert checker.check(root) == []


def test_a_long_module_is_reported(tmp_path: Path) -> None:
    limit = checker.MAX_LINES
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/fits.py": "x = 1\n" * limit,
            "bot/long.py": "x = 1\n" * (limit + 1),
        },
    )
    assert checker.check(root) == [f"bot/long.py: {limit + 1} lines (limit {limit})"]


def test_the_core_importing_the_bot_or_discord_is_reported(tmp_path: Path) -> None:
    root = make_tree(
        tmp_path,
        {
            "musicrec_core/a.py": "import discord.ext\n",
            "musicrec_core/b.py": "def f():\n    from bot import settings\n",
            "musicrec_core/c.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.app\n"
            ),
            "bot/app.py": "import discord\nimport musicrec_core.a\n",
            "bot/settings.py": "",
        },
    )
    assert checker.check(root) == [
        "musicrec_core/a.py:1: the core imports discord.ext",
        "musicrec_core/b.py:2: the core imports bot.settings",
        "musicrec_core/c.py:3: the core imports bot.app",
    ]


def test_a_file_that_does_not_parse_is_reported(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"bot/broken.py": "def f(:\n"})
    [line] = checker.check(root)
    assert line.startswith("bot/broken.py:1: does not parse")
