"""Type stubs of the native module; see the package docstring."""

import datetime
import os
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Literal, Optional, Sequence, Union

__version__: str

Record = dict[str, Any]
Time = Union[int, datetime.datetime]
RawKey = bytes
WriteKey = Union[RawKey, "Passphrase", "X25519Recipient", "X25519Identity"]
ReadKey = Union[RawKey, "Passphrase", "X25519Identity"]
Path = Union[str, os.PathLike[str]]
Progress = Callable[["ProgressEvent"], Optional[bool]]

class KeepsakeError(Exception):
    kind: str

class NotAnArchiveError(KeepsakeError): ...
class UnsupportedVersionError(KeepsakeError):
    version: int
class UnsupportedSuiteError(KeepsakeError):
    suite: int
class NoSupportedSlotError(KeepsakeError): ...
class WrongKeyError(KeepsakeError): ...
class HeaderCorruptError(KeepsakeError): ...
class CorruptError(KeepsakeError):
    chunk: int
class TruncatedError(KeepsakeError):
    offset: int
class TrailingDataError(KeepsakeError):
    offset: int
class LimitExceededError(KeepsakeError):
    limit: str
    value: int
    maximum: int
class UnknownCriticalChunkError(KeepsakeError):
    chunk: int
    chunk_kind: int
class InvalidKeyError(KeepsakeError): ...
class InvalidInputError(KeepsakeError): ...
class DatabaseError(KeepsakeError): ...
class CancelledError(KeepsakeError): ...
class UntrustedSignatureError(KeepsakeError): ...
class ConversationInactiveError(KeepsakeError): ...

class Passphrase:
    def __init__(
        self,
        passphrase: str,
        *,
        memory_kib: Optional[int] = None,
        passes: Optional[int] = None,
        lanes: Optional[int] = None,
    ) -> None: ...

class X25519Recipient:
    def __init__(self, text: str) -> None: ...

class X25519Identity:
    def __init__(self, text: str) -> None: ...
    @staticmethod
    def generate() -> "X25519Identity": ...
    @property
    def recipient(self) -> X25519Recipient: ...
    def to_text(self) -> str: ...

class SigningKey:
    def __init__(self, text: str) -> None: ...
    @staticmethod
    def generate() -> "SigningKey": ...
    @property
    def signer(self) -> str: ...
    def to_text(self) -> str: ...

class ProgressEvent:
    phase: str
    bytes_done: int
    bytes_total: Optional[int]
    records_done: int
    records_total: Optional[int]
    chunks_done: int
    elapsed: float
    eta: Optional[float]
    finished: bool

class ArchiveMetadata:
    mode: Literal["records", "pages"]
    created_at_ns: int
    elements: list[str]
    start_ns: Optional[int]
    end_ns: Optional[int]
    creator: str

class Trailer:
    chunk_count: int
    conversations: int
    messages: int
    consent: int
    pages: int
    plaintext_bytes: int
    time_range: Optional[tuple[int, int]]
    content_digest: bytes
    index_chunk: int
    index_offset: int
    signature_block: bytes

class Signature:
    status: Literal["unsigned", "valid", "invalid", "unknown-scheme"]
    signer: Optional[str]

class ArchiveSummary:
    format_version: int
    key_slots: int
    archive_bytes: int
    metadata: ArchiveMetadata
    trailer: Optional[Trailer]
    signature: Signature

class VerifyReport:
    archive_bytes: int
    chunks: int
    metadata: ArchiveMetadata
    trailer: Trailer
    signature: Signature
    opened_with: str
    sender_authenticated: bool

class Counts:
    conversations: int
    messages: int
    consent: int

class ImportReport:
    inserted: Counts
    skipped: Counts
    active_conversation_messages: int
    future_consent: int
    signature: Signature

class CreateReport:
    archive_bytes: int
    counts: Counts
    time_range: Optional[tuple[int, int]]
    seek_index: bool

def create_archive(
    db: Path,
    path: Path,
    key: Union[WriteKey, Sequence[WriteKey]],
    *,
    start: Optional[Time] = None,
    end: Optional[Time] = None,
    elements: Sequence[str] = ("messages", "consent"),
    progress: Optional[Progress] = None,
    level: int = 3,
    chunk_size: int = 1048576,
    signing_key: Optional[SigningKey] = None,
    threads: Optional[int] = None,
) -> CreateReport: ...
def archive_metadata(path: Path, key: Union[ReadKey, Sequence[ReadKey]]) -> ArchiveSummary: ...
def import_archive(
    path: Path,
    key: Union[ReadKey, Sequence[ReadKey]],
    db: Path,
    *,
    progress: Optional[Progress] = None,
    trusted_signer: Optional[str] = None,
) -> ImportReport: ...
def verify_archive(
    path: Path,
    key: Union[ReadKey, Sequence[ReadKey]],
    *,
    progress: Optional[Progress] = None,
    trusted_signer: Optional[str] = None,
) -> VerifyReport: ...
def encode_record(record: Record) -> bytes: ...

class ArchiveWriter:
    def __init__(
        self,
        sink: Union[Path, BinaryIO],
        key: Union[WriteKey, Sequence[WriteKey]],
        *,
        start: Optional[Time] = None,
        end: Optional[Time] = None,
        elements: Sequence[str] = ("messages", "consent"),
        level: int = 3,
        chunk_size: int = 1048576,
        signing_key: Optional[SigningKey] = None,
        creator: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> None: ...
    def write(self, record: Record) -> None: ...
    def write_all(self, records: Iterable[Record]) -> int: ...
    def finish(self) -> Trailer: ...
    def abort(self) -> None: ...
    def __enter__(self) -> "ArchiveWriter": ...
    def __exit__(self, *exc: Any) -> bool: ...

class ArchiveReader:
    metadata: ArchiveMetadata
    format_version: int
    key_slots: int
    def __init__(
        self,
        source: Union[Path, BinaryIO],
        key: Union[ReadKey, Sequence[ReadKey]],
        *,
        max_chunk_size: Optional[int] = None,
        max_record_size: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> None: ...
    def next_batch(self) -> Optional[list[Record]]: ...
    def __iter__(self) -> Iterator[Record]: ...
    def __next__(self) -> Record: ...
    @property
    def trailer(self) -> Optional[Trailer]: ...
    @property
    def signature(self) -> Optional[Signature]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "ArchiveReader": ...
    def __exit__(self, *exc: Any) -> bool: ...
