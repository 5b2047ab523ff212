"""Fixtures the command-line tests share."""

import pytest

from causalsim.cli import main


@pytest.fixture
def run_estimate(capsys):
    """``call(*argv) -> (exit code, stdout, stderr)`` of ``causalsim estimate ARGV``."""
    def call(*argv: str) -> tuple[int, str, str]:
        code = main(["estimate", *argv])
        out, err = capsys.readouterr()
        return code, out, err
    return call
