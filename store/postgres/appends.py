"""An append as one statement: one round trip, and its own transaction.

The transactional path (vault.store.postgres.writes.add_messages, wrapped by
the events' recording) takes BEGIN, the seq claim, the messages, their words,
their events and COMMIT: six round trips for one message. Without an
idempotency key none of them needs an answer before the next is sent, so
here they are one statement of data-modifying CTEs, run outside a
transaction block, which PostgreSQL commits as one transaction.

What the transactional path promises still holds:
- The session's row lock is taken before anything else: the messages are
  built from the claim's row, and the events from the inserted messages, so
  the claim runs first and every event id is taken after it (the change
  feed's order relies on that; vault.store.postgres.events).
- All or nothing: one statement. A session that is gone claims no row, so
  nothing is inserted and the statement answers no row: NotFound.
- The same rows: a body's head needs its seq, so the head up to the seq
  comes from vault.store.core.bodies and the digits are added in SQL;
  the events are those vault.store.core.events.events_of gives an append.
"""

from __future__ import annotations

import asyncpg
from attrs import frozen
from vault.store.core import bodies, commands, records
from vault.store.core.events import MESSAGE_CREATED
from vault.store.errors import NotFound
from vault.store.postgres import events

# The most digits a seq can have (a bigint): what bounds a body's size before its seq is known.
MAX_SEQ_DIGITS = 19

APPEND = f"""
WITH claimed AS (
    UPDATE sessions SET last_seq = last_seq + $1, message_count = message_count + $1, updated_at = $2
    WHERE id = $3 RETURNING last_seq - $1 AS before
), added AS (
    INSERT INTO messages (session_id, seq, id, role, body, body_packed, body_size)
    SELECT $3, claimed.before + m.n, m.id, m.role,
           CASE WHEN m.packed IS NULL THEN m.head || (claimed.before + m.n)::text || m.tail ELSE '' END,
           m.packed, m.head_bytes + length((claimed.before + m.n)::text) + m.tail_bytes
    FROM claimed, unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::int[], $10::int[])
        WITH ORDINALITY AS m(id, role, head, tail, packed, head_bytes, tail_bytes, n)
    RETURNING id, seq
), indexed AS (
    INSERT INTO message_search (message_id, words)
    SELECT added.id, to_tsvector('simple', w.words)
    FROM added JOIN unnest($11::text[], $12::text[]) AS w(id, words) ON w.id = added.id
), recorded AS (
    INSERT INTO events (type, session_id, at, data, message_seq)
    SELECT '{MESSAGE_CREATED}', $3, $2, NULL, seq FROM added ORDER BY seq
    RETURNING id
)
SELECT before, (SELECT max(id) FROM recorded) FROM claimed
"""


@frozen
class Heads:
    """Each message's head up to its seq, and its UTF-8 size: made once for the size check and the statement."""

    texts: list[str]
    sizes: list[int]


def heads_within_limit(command: commands.AddMessages) -> Heads | None:
    """The heads when every body is within the size limit whatever its seq; None: the transactional path decides."""
    texts = [bodies.head_before_seq(message.id, command.session_id) for message in command.messages]
    sizes = [len(text.encode("utf-8")) for text in texts]
    limit = command.max_bytes
    if limit is not None and any(
        size + MAX_SEQ_DIGITS + message.tail.size > limit for size, message in zip(sizes, command.messages, strict=True)
    ):
        return None
    return Heads(texts, sizes)


async def add_messages(conn: asyncpg.Connection, command: commands.AddMessages, heads: Heads) -> records.Appended:
    """The append, on a connection outside any transaction block; NotFound if the session is gone."""
    session_id, messages = command.session_id, command.messages
    indexed = [message for message in messages if message.words]
    claimed = await conn.fetchrow(
        APPEND,
        len(messages),
        command.now,
        session_id,
        [message.id for message in messages],
        [message.fields["role"] for message in messages],
        heads.texts,
        [message.tail.text for message in messages],
        [message.tail.frame for message in messages],
        heads.sizes,
        [message.tail.size for message in messages],
        [message.id for message in indexed],
        [message.words for message in indexed],
    )
    if claimed is None:
        raise NotFound("session", session_id)
    before, newest_event = claimed
    events.took(newest_event)
    return records.Appended(session_id, messages, before + 1)
