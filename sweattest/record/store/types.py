"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from sweattest.core.errors import StoreError


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes stored as fixed-width ISO 8601 text (sorts correctly, same on every backend)."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise StoreError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise StoreError(f"refusing a naive datetime {value.isoformat()}: records are aware UTC")
        if value.utcoffset() != timedelta(0):
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
