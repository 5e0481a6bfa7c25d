"""The command line: Typer parses, the api computes, render shows; errors become exit codes.

Nothing here imports numba: `losscli --help` and `losscli losses` stay quick.
"""

from __future__ import annotations

import errno
import importlib
import inspect
import os
import sys
import traceback
import warnings
from types import FrameType
from typing import TYPE_CHECKING

import typer
from typer._click import exceptions as click_exc  # typer >= 0.26 vendors click

from losscli._version import __version__
from losscli.cli import _plain_options, _signals
from losscli.cli._complete import completion_words, named_loss
from losscli.cli._help import command_help
from losscli.cli._output import ReaderGone, forget_escapes, stdout_error, write_text
from losscli.errors import SURFACE, ExitCode, LossCliError
from losscli.render.json_escaping import ESCAPE_NON_ASCII, writes_unicode

if TYPE_CHECKING:
    from losscli.losses import LossSpec

_plain_options.install()  # plain option values without importing pydantic (~50 ms a run)

ROOT_HELP = """See what a loss does: per-term breakdowns of classification, contrastive and
metric-learning losses (`losscli losses` lists them).

`losscli COMMAND --help` for a command; `losscli compute LOSS --help` (or batch, sweep,
stats, compare) for one loss's inputs and options. `losscli --install-completion` completes
commands, loss names, --like libraries and parameters in bash, zsh, fish and PowerShell.

Exit codes: 0 ok, 1 internal error, 2 usage, 3 input unavailable, 4 bad data,
5 non-finite result (--strict), 6 output error, 7 batch with failures,
8 loss above --fail-above, 130 interrupted (143 on SIGTERM).
"""

APP_SETTINGS = dict(
    name="losscli",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The whole app, for the top-level help, --install-completion / --show-completion and the
# tests; a run builds only its own command (app_for).
app = typer.Typer(**{**APP_SETTINGS, "add_completion": True,  # type: ignore[arg-type]
                     "help": command_help("losscli", ROOT_HELP)})


def _version(value: bool) -> None:
    if value:
        write_text(f"losscli {__version__}\n", None)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="print the version and exit"),
) -> None:
    """losscli: a command-line loss explorer."""


# name -> (module in losscli.cli, function). A run imports only its own command's module; the
# full list is built for the top-level help. No command shows its help for no arguments: its
# LOSS left out is a usage error (exit 2), as any other missing argument; only `losscli` alone,
# which names no command yet, prints the help (exit 0).
COMMANDS = {
    "compute": ("compute", "compute"),
    "batch": ("batch", "batch"),
    "losses": ("catalog", "losses"),
    "explain": ("catalog", "explain"),
    "sweep": ("sweep", "sweep"),
    "compare": ("compare", "compare"),
    "stats": ("stats", "stats"),
}


def _register(target: typer.Typer, name: str, spec: LossSpec | None = None) -> None:
    """Add a command; with `spec`, the command of that one loss (its help, its options)."""
    from losscli.cli._options import for_loss

    module_name, func_name = COMMANDS[name]
    module = importlib.import_module(f"losscli.cli.{module_name}")
    command = getattr(module, func_name)
    text = getattr(module, "HELP", None) or inspect.getdoc(command) or ""
    if spec is not None:
        command = for_loss(command, spec)
    target.command(name, help=command_help(name, text, spec))(command)


def full_app() -> typer.Typer:
    """Every command (for the top-level help and the tests)."""
    if not app.registered_commands:
        for name in COMMANDS:
            _register(app, name)
    return app


def app_for(args: list[str], one_loss: bool = False, completing: bool = False) -> typer.Typer:
    """The app with only the command being run: importing the other commands' modules and
    turning their signatures into click parameters costs every run several milliseconds;
    the whole list only matters for the top-level help.

    `one_loss` (for --help and completion): when a loss is named, the command offers that
    loss's options only. A run keeps every option, so that one the loss does not take is
    refused by name, with what the loss takes instead. `completing`: the shell asks for
    completions (typer then sets up its completion classes).
    """
    name = args[0] if args else None
    if name not in COMMANDS:
        return full_app()
    single = typer.Typer(**{**APP_SETTINGS,  # type: ignore[arg-type]
                            "add_completion": completing})
    single.callback()(_root)
    _register(single, name, named_loss(args) if one_loss else None)
    return single


def _stderr(text: str) -> None:
    """Write to stderr, which may itself be closed: then there is nowhere to say anything."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# The one writer of files (render/atomic_file.py), imported only by a run that writes one:
# looked up, not imported, so that a run that writes no file does not pay for it.
_WRITTEN = "losscli.render.atomic_file"


def _interrupted() -> int:
    """`error: interrupted`, and what became of the files the run was writing (each left as
    it was, since they are written whole or not at all): `--out FILE left unchanged`. The
    exit code: 130 for Ctrl-C, 128 + N for signal N (SIGTERM: 143), named in the message."""
    written = sys.modules.get(_WRITTEN)
    left: list[str] = []
    if written is not None:
        written.discard_unfinished()  # one the run stopped before it could discard
        left = written.unfinished()
    signal_name = _signals.name()
    _error("interrupted" + (f" ({signal_name})" if signal_name else "")
           + (f"; {', '.join(left)}" if left else ""))
    return _signals.exit_code(int(ExitCode.INTERRUPTED))


def _error(message: str) -> None:
    _stderr(f"error: {_one_line(message)}\n")


def _usage_error(exc: click_exc.UsageError, args: list[str]) -> None:
    """Two lines, no box: the problem, and where the help is."""
    if exc.ctx is not None and exc.ctx.command_path != "losscli":
        command = exc.ctx.command_path
    else:  # the parser failed before the subcommand's context existed
        named = next((a for a in args if not a.startswith("-")), None)
        commands = {c.name for c in app.registered_commands}
        command = f"losscli {named}" if named in commands else "losscli"
    spec = named_loss(args)
    if spec is not None and command.split()[-1] == args[0]:  # that loss's own help
        command = f"{command} {spec.name}"
        if isinstance(exc, click_exc.NoSuchOption):
            exc.possibilities = _options_like(exc.option_name, args)
    _error(_message(exc))
    _stderr(f"try '{command} --help'\n")


def _message(exc: click_exc.UsageError) -> str:
    """click's message, its suggestions written here: some click versions (typer 0.26's)
    print them as a tuple, `('(Possible options: --margin)',)`."""
    if isinstance(exc, click_exc.NoSuchOption) and exc.possibilities:
        return f"{exc.message} (Possible options: {', '.join(sorted(exc.possibilities))})"
    return exc.format_message()


def _options_like(typed: str, args: list[str]) -> list[str]:
    """The options of the named loss's command that a misspelt one may have meant: those it
    begins (`--neg`: --negatives), then the closest (click's own list came from every loss's
    options: `triplet --margn` offered --margin2 and --pos-margin, which triplet refuses)."""
    import difflib

    command = typer.main.get_command(app_for(args, one_loss=True)).commands[args[0]]
    names = [name for param in command.params if not getattr(param, "hidden", False)
             for name in (*param.opts, *param.secondary_opts) if name.startswith("--")]
    begun = [name for name in names if name.startswith(typed)]
    close = difflib.get_close_matches(typed, names, n=3, cutoff=0.75)
    return list(dict.fromkeys(begun + close))[:3]


def _quiet_broken_pipe() -> None:
    """The reader left (`| head -1`): stop quietly and keep Python from complaining at exit.

    stdout's fd now points at /dev/null, so the interpreter's last flush of what is still
    buffered succeeds instead of printing "Exception ignored ... BrokenPipeError".
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _typer_reader_gone() -> bool:
    """Whether typer has just turned an EPIPE into sys.exit(1): it wraps stdout first."""
    wrapped = getattr(sys.stdout, "wrapped", None)
    if wrapped is None or type(sys.stdout).__name__ != "PacifyFlushWrapper":
        return False
    sys.stdout = wrapped
    return True


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises, never prints a traceback
    unless --debug asks for one on an internal error).

    Exit codes (CONTRACT.md): 0 ok, 1 internal error, 2 usage, 3 input unavailable,
    4 bad data, 5 non-finite result under --strict, 6 output error, 7 batch with failures,
    8 loss above --fail-above, 130 interrupted (128 + N for signal N: SIGTERM 143). A
    reader that closes the pipe early ends the run quietly with 0.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args or os.environ.get("LOSSCLI_DEBUG") == "1"
    completing = completion_words()
    surface = SURFACE.set("cli")  # usage errors in terms of options, not keywords
    escaping = ESCAPE_NON_ASCII.set(not writes_unicode(sys.stdout))
    written = sys.modules.get(_WRITTEN)
    if written is not None:  # a run before this one in the same process (the tests)
        written.forget()
    forget_escapes()
    try:
        if completing is not None:
            target = app_for(completing, one_loss=True, completing=True)
        else:
            target = app_for(args, one_loss="--help" in args or "-h" in args)
        rv = target(args=args, prog_name="losscli", standalone_mode=False)
        if rv == ExitCode.INTERRUPTED:  # typer turns Ctrl-C (and Terminated) into Exit(130)
            return _interrupted()
        return int(rv) if isinstance(rv, int) else 0
    except LossCliError as exc:
        _error(exc.message())
        return int(exc.exit_code)
    except click_exc.NoArgsIsHelpError as exc:
        try:
            write_text(exc.ctx.get_help() + "\n" if exc.ctx else "", None)
        except LossCliError as out_exc:
            _error(out_exc.message())
            return int(out_exc.exit_code)
        except ReaderGone:
            _quiet_broken_pipe()
        return 0
    except click_exc.UsageError as exc:
        _usage_error(exc, args)
        return int(ExitCode.USAGE)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return _interrupted()
    except (ReaderGone, BrokenPipeError):
        _quiet_broken_pipe()
        return int(ExitCode.OK)
    except click_exc.ClickException as exc:
        _error(exc.format_message())
        return int(ExitCode.USAGE)
    except SystemExit as exc:
        if _typer_reader_gone():
            _quiet_broken_pipe()
            return int(ExitCode.OK)
        if exc.code is None:
            return int(ExitCode.OK)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.INTERNAL)
    except UnicodeEncodeError as exc:  # a table or help to a stdout that cannot encode it
        _error(stdout_error(exc).message())
        return int(ExitCode.OUTPUT)
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            return _internal_error(exc, debug)
        # help or a table to a full disk (inputs and --out files say theirs themselves)
        if debug:
            _stderr(traceback.format_exc())
        _error(stdout_error(exc).message())
        return int(ExitCode.OUTPUT)
    except MemoryError as exc:
        # not a bug: the input, or batch's --chunk, asks for more memory than there is (a
        # container's limit, ulimit -v); was "internal error ... this is a bug" (QA20a M4)
        if debug:
            _stderr(traceback.format_exc())
        detail = _one_line(str(exc)) or "an allocation failed"
        fix = ("give a smaller --chunk or fewer --jobs, or split the input"
               if next((a for a in args if not a.startswith("-")), None) == "batch" else
               "use `losscli batch`, which streams .npy files by rows, or split the input")
        _error(f"out of memory ({detail[:200]}); {fix}")
        return int(ExitCode.BAD_DATA)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a message
        return _internal_error(exc, debug)
    finally:
        SURFACE.reset(surface)
        ESCAPE_NON_ASCII.reset(escaping)


# What a write to a full or failing device raises: reported as stdout's output error.
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _internal_error(exc: BaseException, debug: bool) -> int:
    """A bug as one line on stderr (the traceback under --debug): exit 1."""
    if debug:
        _stderr(traceback.format_exc())
    detail = _one_line(f"{type(exc).__name__}: {exc}")
    if len(detail) > 300:
        detail = detail[:300] + "..."
    _error(f"internal error ({detail}); this is a bug in losscli {__version__}: please "
           "report it with the command"
           + ("" if debug else " and the output of the same command with --debug"))
    return int(ExitCode.INTERNAL)


# How long the interpreter's teardown may take once the run is over, its output whole.
TEARDOWN_SECONDS = 5.0


def _exit_after(seconds: float, code: int) -> None:
    """End the process with `code` after `seconds`, whatever the teardown is waiting for
    (a daemon thread: it runs while the interpreter joins the others and calls its exit
    hooks). Only once the caller's outermost frame is gone, the interpreter then in its
    exit: a caller that caught the SystemExit (a test that runs main) goes on."""
    import threading

    main = threading.main_thread()
    caller = _outermost(sys._getframe())

    def end() -> None:
        frame = sys._current_frames().get(main.ident)
        if frame is None or _outermost(frame) is not caller:
            os._exit(code)

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()


def _outermost(frame: FrameType) -> FrameType:
    while frame.f_back is not None:
        frame = frame.f_back
    return frame


def _reserve_closed_std_fds() -> None:
    """Point closed fds 0-2 at /dev/null so that files opened later never take their
    numbers (a stray write to fd 1 must not land in an --out file); sys.stdout stays None,
    so writing to stdout is still reported as an output error."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
            except OSError:
                pass


def main() -> None:
    """The `losscli` script: run, flush, and exit with run's code.

    Library warnings are silenced (stderr carries only `error:` and `warning:` lines), and
    the interpreter's teardown is skipped unless worker processes ran.
    """
    _reserve_closed_std_fds()
    if not sys.warnoptions:
        # stderr carries only `error:` and `warning:` lines; library warnings (numpy's
        # RuntimeWarning, numba's) would break that. `python -W ...` still shows them.
        warnings.simplefilter("ignore")
    _signals.install()  # here, not on import: the library leaves a program's signals alone
    try:
        code = run()
    except KeyboardInterrupt:  # a signal in the instant between run's return and uninstall
        code = _signals.exit_code(int(ExitCode.INTERRUPTED))
    finally:
        _signals.uninstall()
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader left, or stdout was closed
        _quiet_broken_pipe()
    except OSError as exc:  # what was buffered did not reach a full or failing disk
        _quiet_broken_pipe()
        _error(stdout_error(exc).message())
        code = code or int(ExitCode.OUTPUT)
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    _signals.finishing(code)
    if "multiprocessing" in sys.modules:
        # --jobs or a Dask cluster ran: their finalisers release semaphores and children
        # (skipping them leaves the resource tracker warning about leaks on stderr). They
        # take 0.1-0.3 s; one that hangs (a pool's manager thread left waiting by a Ctrl-C,
        # 1 run in ~80: QA16) must not keep a finished run alive.
        _exit_after(TEARDOWN_SECONDS, code)
        sys.exit(code)
    # Everything is written, flushed and renamed into place: skip the interpreter's
    # teardown (module finalisers of numpy, numba, rich: 20-100 ms of every run).
    os._exit(code)
