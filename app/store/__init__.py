"""The shared store: sessions, traces and labels on TimescaleDB or plain PostgreSQL.

``connect`` opens a connection from a profile or a connection string (passwords from the
keyring), ``ensure_schema`` creates or migrates the schema, ``upload_session`` stores a
session, and ``summary``, ``read_traces``, ``list_sessions`` and ``fleet`` read it back.
"""

from app.store.connection import (
    AuthenticationFailed,
    ConnectionRefused,
    Profile,
    TlsMismatch,
    connect,
    delete_profile,
    load_profiles,
    redact,
    save_profile,
)
from app.store.labels import (
    LabelConflict,
    ServerLabelSink,
    add_label,
    delete_label,
    read_labels,
    update_label,
)
from app.store.query import (
    FleetVehicle,
    StoredSession,
    StoredTrace,
    Summary,
    fleet,
    get_session,
    list_sessions,
    read_traces,
    session_traces,
    summary,
)
from app.store.schema import (
    LATEST_VERSION,
    MODE_POSTGRESQL,
    MODE_TIMESCALEDB,
    StoreInfo,
    ensure_schema,
    info,
    migrate,
    schema_version,
)
from app.store.upload import SessionUpload, UploadInterrupted, UploadResult, upload_session

__all__ = [
    "LATEST_VERSION",
    "MODE_POSTGRESQL",
    "MODE_TIMESCALEDB",
    "AuthenticationFailed",
    "ConnectionRefused",
    "FleetVehicle",
    "LabelConflict",
    "Profile",
    "ServerLabelSink",
    "SessionUpload",
    "StoreInfo",
    "StoredSession",
    "StoredTrace",
    "Summary",
    "TlsMismatch",
    "UploadInterrupted",
    "UploadResult",
    "add_label",
    "connect",
    "delete_label",
    "delete_profile",
    "ensure_schema",
    "fleet",
    "get_session",
    "info",
    "list_sessions",
    "load_profiles",
    "migrate",
    "read_labels",
    "read_traces",
    "redact",
    "save_profile",
    "schema_version",
    "session_traces",
    "summary",
    "update_label",
    "upload_session",
]
