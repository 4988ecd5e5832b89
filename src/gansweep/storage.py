"""Where a study lives: its folder under studies/, its Optuna storage (a journal file there, or
PostgreSQL), and the storage URL as logs may show it (any password masked)."""
from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import urlsplit

import optuna

from gansweep import tracking
from gansweep.registry import ConfigError

POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgres")
# Reserved in a URL's user info: urllib splits at the last '@', SQLAlchemy at the first, so an
# unencoded one would leave part of the password in what either of them prints.
RESERVED = "@/?#[]"


def study_dir(search) -> Path:
    return tracking.workspace_root() / "studies" / search.study


def retried(trials) -> set[int]:
    """The numbers of the trials that were queued again (lost with their worker, or interrupted)."""
    return {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}


def _user_info(url: str) -> tuple[str, str, str]:
    """(scheme://, user info, the rest) split at the last '@', where a password can hold anything."""
    scheme, sep, rest = url.partition("://")
    user_info, _, host = rest.rpartition("@")
    return scheme + sep, user_info, host  # without an '@': no user info, all of `rest` the host


def masked(url: str | None) -> str:
    """The storage URL with any password replaced: what logs, tags and files may show."""
    if not url:
        return "journal file"
    scheme, user_info, host = _user_info(url)
    if not user_info:
        return url
    return f"{scheme}{user_info.split(':', 1)[0]}{':***' if ':' in user_info else ''}@{host}"


def open_storage(search, folder: Path, on_stale=None):
    """The study's storage: a journal file in `folder`, or PostgreSQL with heartbeats, whose stale
    trials (their worker died) go to `on_stale(study, trial)`."""
    url = search.storage
    if url is None:
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder / "journal.log")
        return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    if any(char in _user_info(url)[1] for char in RESERVED):
        raise ConfigError(f"search.storage: the user or password in {masked(url)} holds a character reserved in URLs "
                          f"({' '.join(RESERVED)}): percent-encode it (e.g. @ as %40)")
    try:
        parts = urlsplit(url)
        parts.port  # raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"search.storage: {masked(url)} is not a valid URL (host, port?): "
                          "use postgresql://user:password@host:port/db") from None
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ConfigError(f"search.storage: use null (a journal file under studies/) or postgresql://user@host:port/db, got {masked(url)}")
    url = url.replace("postgres://", "postgresql://", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}},
                                              heartbeat_interval=search.heartbeat, grace_period=2 * search.heartbeat,
                                              heartbeat_stale_trial_callback=on_stale)
        except Exception as err:  # sqlalchemy/psycopg2 errors: one line, the password never in it
            reason = " ".join(str(getattr(err, "orig", None) or err).split())
            hint = " (give the password in the URL, PGPASSWORD or ~/.pgpass)" if "password" in reason else ""
            password = _user_info(url)[1].partition(":")[2]
            reason = reason.replace(password, "***") if password else reason  # "" would match everywhere
            raise ConfigError(f"search.storage: cannot use {masked(url)}: {reason.replace(search.storage, masked(url))}{hint}") from None
