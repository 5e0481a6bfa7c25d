"""The command line: Typer parses, the api computes, render shows; errors become exit codes.

Nothing here imports numba: `losscli --help` and `losscli losses` stay quick.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

try:  # typer >= 0.20 vendors click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer on real click
    from click import exceptions as click_exc  # type: ignore[no-redef]

from losscli._version import __version__
from losscli.cli import _plain_options, batch, catalog, compute
from losscli.cli._output import ReaderGone
from losscli.errors import ExitCode, LossCliError

_plain_options.install()  # plain option values without importing pydantic (~50 ms a run)

app = typer.Typer(
    name="losscli",
    help="See what a loss does: per-term breakdowns of softmax-ce, InfoNCE, contrastive, "
    "triplet and quadruplet losses. Exit codes: 0 ok, 1 internal error, 2 usage, "
    "3 input unavailable, 4 bad data, 5 non-finite result (--strict), 6 output error, "
    "7 batch with failures, 130 interrupted.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"losscli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """losscli: a command-line loss explorer."""


app.command("compute", help=compute.HELP, no_args_is_help=True)(compute.compute)
app.command("batch", help=batch.HELP, no_args_is_help=True)(batch.batch)
app.command("losses")(catalog.losses)
app.command("explain")(catalog.explain)


def _error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def _usage_error(exc: click_exc.UsageError) -> None:
    command = exc.ctx.command_path if exc.ctx is not None else "losscli"
    _error(exc.format_message())
    sys.stderr.write(f"try '{command} --help'\n")


def _quiet_broken_pipe() -> None:
    """The reader left (`| head -1`): stop quietly and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, never prints a traceback
    unless --debug asks for one on an internal error)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("LOSSCLI_DEBUG") == "1"
    try:
        rv = app(args=args, prog_name="losscli", standalone_mode=False)
        if rv == ExitCode.INTERRUPTED:  # typer turns Ctrl-C into Exit(130)
            sys.stderr.write("interrupted\n")
        return int(rv) if isinstance(rv, int) else 0
    except LossCliError as exc:
        _error(exc.message())
        return int(exc.exit_code)
    except click_exc.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        return 0
    except click_exc.UsageError as exc:
        _usage_error(exc)
        return int(ExitCode.USAGE)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        return int(ExitCode.INTERRUPTED)
    except (ReaderGone, BrokenPipeError):
        _quiet_broken_pipe()
        return int(ExitCode.OK)
    except typer.TyperException as exc:
        _error(exc.format_message())
        return int(ExitCode.USAGE)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message
        if debug:
            traceback.print_exc()
        else:
            _error(f"internal error ({type(exc).__name__}: {exc}); this is a bug in losscli "
                   f"{__version__}: please report it with the command and --debug output")
        return int(ExitCode.INTERNAL)


def main() -> None:
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    except (OSError, ValueError):
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    # Everything is written, flushed and renamed into place: skip the interpreter's
    # teardown (module finalisers of numpy, numba, rich: 20-100 ms of every run).
    os._exit(code)
