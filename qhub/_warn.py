"""qhub's one warning channel: one line for the user, on the process's real stderr.

behave captures ``sys.stderr`` and logging while hooks run (and shows the capture only
when something fails), so a ``logging`` record or a ``print`` to ``sys.stderr`` from the
end-of-run code can vanish. These lines go to the process's own stderr instead; details
(tracebacks) go to the ``qhub`` logger at debug level. Every subsystem warns through
:func:`warn`, never through ``logging.warning`` or ``warnings.warn``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("qhub")


_once: set[str] = set()


def warn(message: str, *, exc_info: bool = False, once: str | None = None) -> None:
    """Print ``qhub: warning: <message>`` as one line on the process's stderr.

    Known secrets are scrubbed. With ``once``, only the first warning under that key is
    printed in this process (later ones go to the debug log), so a failure repeated on
    every step is said once.
    """
    from qhub._redact import redact_text

    line = "qhub: warning: " + redact_text(" ".join(message.split()))
    if once is not None:
        if once in _once:
            log.debug("%s", line, exc_info=exc_info)
            return
        _once.add(once)
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):  # stderr closed: the log record below still exists
        pass
    log.debug("%s", line, exc_info=exc_info)


def reset_once() -> None:
    """Forget which ``once`` warnings were given (a new run in the same process, tests)."""
    _once.clear()


def shown_path(path: Path, root: Path | None = None) -> str:
    """``path`` relative to ``root`` (or the working directory) when inside it."""
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)
        except ValueError:
            continue
    return str(path)
