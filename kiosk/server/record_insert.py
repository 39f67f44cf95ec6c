"""A new queued record in one PostgreSQL statement: its queue number, the row, and its place in the queue.

The usual upload is a record that clashes with nothing. On PostgreSQL it is
stored by one statement, run on its own (it commits by itself, atomically):

    WITH taken AS (INSERT INTO queue_numbers ... RETURNING seq),
         inserted AS (INSERT INTO records ... SELECT ..., taken.seq FROM taken
                      ON CONFLICT DO NOTHING RETURNING ...)
    SELECT inserted.*, (SELECT count(*) FROM records WHERE status = 'queued'
                        AND queue_seq < inserted.queue_seq) + 1 FROM inserted

one round trip where a transaction of a queue number, the insert and the count
took five (BEGIN and COMMIT included). ``ON CONFLICT DO NOTHING`` covers every
unique constraint, so any clash (the id: a replay; a ticket; a student already in
review; a status secret) inserts nothing and returns no row, and the caller sorts
it out in a transaction as before: the primary key still decides between a first
upload and a replay, across processes. The count runs on the statement's snapshot,
which does not hold the new row itself, hence the ``+ 1``.

SQLite has no data-modifying ``WITH``; there the statements stay separate (they
cost no round trip there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql

from kiosk.server.tables import queue_numbers, records


def queued_insert(columns: list[str], stored: tuple[Any, ...]) -> Select[Any]:
    """The statement storing a queued record from bound ``columns`` (and ``taken_at`` for its queue number).

    Its row: the ``stored`` columns of the new record and ``place``, its 1-based queue place;
    no row when the record clashed with another.
    """
    taken = insert(queue_numbers).values(taken_at=bindparam("taken_at")).returning(queue_numbers.c.seq).cte("taken")
    values = select(*(bindparam(name, type_=records.c[name].type) for name in columns), taken.c.seq)
    inserted = (postgresql.insert(records).from_select([*columns, "queue_seq"], values)
                .on_conflict_do_nothing().returning(*stored).cte("inserted"))
    ahead = (select(func.count()).select_from(records)
             .where(records.c.status == "queued", records.c.queue_seq < inserted.c.queue_seq)
             .scalar_subquery())
    return select(*(inserted.c[c.name] for c in stored), (ahead + 1).label("place"))
