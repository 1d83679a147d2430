"""Read-only views of the table's rows: one row as an object, every row as a sequence.

Views read the table as it is now, so a view taken before an update shows
the row after it; rows change only through the table's methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..certctl import COLUMNS

if TYPE_CHECKING:
    from .table import NotificationTable


class Notification:
    """A view of one row of ``notification_events``: its columns as attributes; ``seq`` is its insertion order.

    Views read the table, so a view taken before an update shows the row as
    it is now.  Change rows through the table's methods only.
    """

    __slots__ = ("_table", "seq")

    def __init__(self, table: NotificationTable, seq: int):
        self._table = table
        self.seq = seq

    def __getattr__(self, name: str) -> Any:
        table: NotificationTable = object.__getattribute__(self, "_table")
        return table.value(object.__getattribute__(self, "seq"), name)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Notification) and other._table is self._table and other.seq == self.seq

    def __hash__(self) -> int:
        return hash((id(self._table), self.seq))

    def __repr__(self) -> str:
        return f"Notification({self.id!r}, {self.channel}, {self.status}, rc={self.retry_count}, nra={self.next_retry_at})"


class Rows:
    """``table.rows``: a read-only sequence of row views."""

    __slots__ = ("_table",)

    def __init__(self, table: NotificationTable):
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, seq: int) -> Notification:
        if not -len(self) <= seq < len(self):
            raise IndexError(seq)
        return Notification(self._table, seq % len(self))

    def __iter__(self):
        table = self._table
        return (Notification(table, seq) for seq in range(len(table)))
