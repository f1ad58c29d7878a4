"""Every `aeops` subcommand answers --help, and bad arguments give one `error:` line with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aeops.cli import main

SUBCOMMANDS = ["validate", "certs", "logo", "simulator", "slack-sink", "db"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_subcommand_help(sub: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([sub, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: aeops {sub}")


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for sub in SUBCOMMANDS:
        assert sub in out
    assert "Exit codes" in out


def test_unknown_option_is_one_error_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--no-such-option", "x.csv"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: aeops" in capsys.readouterr().out


def test_installed_console_script_runs() -> None:
    """`pip install -e .` put an `aeops` command next to the interpreter."""
    from pathlib import Path

    script = Path(sys.executable).with_name("aeops")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("aeops ")
