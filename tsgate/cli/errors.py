"""What is a user mistake, and its one line: `tsgate: <what is wrong>`."""

import os
import re
import traceback

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tsgate/
USAGE_STATUS = 2


class CommandError(Exception):
    """A user mistake found by the command itself (files, options, `--config`)."""


def is_user_mistake(error):
    """Whether `error` reports a user mistake rather than a bug: the
    command's own `CommandError`, an OSError about a file, or a ValueError,
    TypeError, LookupError or OSError (NotFittedError included) raised by a
    `raise` statement in tsgate's own code, i.e. by its input validation. The
    same classes raised inside NumPy, pandas, Keras or TensorFlow are bugs
    (tsgate should have caught the input first) and keep their traceback."""
    if isinstance(error, CommandError) or (isinstance(error, OSError) and error.filename is not None):
        return True
    if not isinstance(error, (ValueError, TypeError, LookupError, OSError)) or error.__traceback__ is None:
        return False
    raised_at = traceback.extract_tb(error.__traceback__)[-1]
    in_tsgate = os.path.abspath(raised_at.filename).startswith(PACKAGE_DIR + os.sep)
    return in_tsgate and (raised_at.line or "").lstrip().startswith("raise")


def one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def in_command_terms(text, options, files):
    """`text`, a message of the library, in the command's words: each
    `files` {argument name: the file the user gave} and each `options`
    {argument name: its option, "--na-values"} written as the user wrote
    them where the library names the argument in backquotes (`df`,
    argument `na_values`, `freq=...`)."""
    for name, path in files.items():
        text = text.replace(f"`{name}`", path)
    for name, option in options.items():
        text = text.replace(f"argument `{name}`", f"option {option}")
        text = re.sub(rf"`{name}(=([^`]*))?`", lambda m: option if not m.group(1) or m.group(2) == "True" else
                      f"{option} {m.group(2).strip(chr(39))}", text)
    return text
