"""Die by SIGKILL right after the k-th SQL statement: the test harness of atomic migrations.

Test code only. ``install(k)`` hooks every SQLAlchemy engine of this process
(``after_cursor_execute``) and kills the process, with no cleanup, no rollback and no
``finally``, as soon as its k-th statement has run: a power cut or ``kill -9`` at that point.
``k = 0`` (or none) only counts.

Run as ``python -m tests.statement_killer DATABASE_URL`` it migrates that database
(``archive.db.migrate``) with the kill set by ``GONGHUI_TEST_KILL_AFTER_STATEMENT`` and, if
it lives to the end, prints the number of statements it ran. ``run_forked`` does the same in a
forked child of the test process, which skips the interpreter start (about half a second) so
that a test can kill a migration at every one of its statements.
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import Engine, event

ENV = "GONGHUI_TEST_KILL_AFTER_STATEMENT"


class _Counter:
    def __init__(self, kill_after: int) -> None:
        self.kill_after = kill_after
        self.statements: list[str] = []

    def __call__(self, conn: object, cursor: object, statement: str, *_: object) -> None:
        self.statements.append(statement)
        if len(self.statements) == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def install(kill_after: int = 0) -> _Counter:
    """Count (and at ``kill_after`` > 0, die after) the statements of every engine."""
    counter = _Counter(kill_after)
    event.listen(Engine, "after_cursor_execute", counter)
    return counter


def uninstall(counter: _Counter) -> None:
    event.remove(Engine, "after_cursor_execute", counter)


def migrate_counting(database_url: str, kill_after: int = 0) -> int:
    """Migrate ``database_url`` to head; the number of statements that took."""
    from archive.db import migrate

    counter = install(kill_after)
    try:
        migrate(database_url)
    finally:
        uninstall(counter)
    return len(counter.statements)


def start_forked(database_url: str, kill_after: int) -> int:
    """Fork a child that migrates ``database_url`` and dies after statement ``kill_after``;
    its pid. The test process must hold no open connection to the database when it forks."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test process
        code = 1
        try:
            migrate_counting(database_url, kill_after)
            code = 0
        finally:
            os._exit(code)
    return pid


def wait_forked(pid: int) -> int:
    """The child's end: ``-signal`` if killed, else its exit code (0: it migrated to the end,
    never reaching statement k; 1: the migration raised)."""
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def run_forked(database_url: str, kill_after: int) -> int:
    """``start_forked`` and ``wait_forked``."""
    return wait_forked(start_forked(database_url, kill_after))


def main(argv: list[str]) -> int:
    (database_url,) = argv
    count = migrate_counting(database_url, int(os.environ.get(ENV) or 0))
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
