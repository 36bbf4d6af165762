"""Keepsake: streaming archives for encrypted, portable messaging backups.

The archive-backup calls of messaging SDKs, on SQLite databases in the
reference schema::

    import keepsake

    key = open("my.key", "rb").read()          # 32 bytes, or a key file's 64 hex characters
    keepsake.create_archive("chat.db", "chat.keepsake", key)
    summary = keepsake.archive_metadata("chat.keepsake", key)
    report = keepsake.import_archive("chat.keepsake", key, "restored.db")

and, for applications with their own schema, a record-level
``ArchiveWriter`` and ``ArchiveReader``; records are dicts. Every error is a
``KeepsakeError`` of its class (``WrongKeyError``, ``CorruptError``, ...);
input and output failures are ``OSError``.
"""

from ._keepsake import *  # noqa: F401,F403
from ._keepsake import __version__  # noqa: F401
from . import _keepsake

__all__ = [name for name in dir(_keepsake) if not name.startswith("_")]
