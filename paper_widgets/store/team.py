"""Store stage, team: set up a PostgreSQL database as a library shared by a team.

``paper-widgets db init`` (:func:`init_team_database`, run by the database owner) creates the
schema from the one migration history of :mod:`paper_widgets.store.schema`, the group role
:data:`TEAM_ROLE`, its privileges and the row-level security policies that keep private notes
and read status private: PostgreSQL itself refuses another role, whatever query it sends.
``paper-widgets db grant ROLE…`` (:func:`grant_team`) makes existing login roles members.

What members share: papers and citekeys (insert only: a key, once given, never changes), tags
and the change log. What is theirs: notes (readable by all when shared) and read status. The
note history can only grow. Settings and the library cache are never kept in the team database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from paper_widgets.store.db import CONNECT_TIMEOUT, StoreError, StoreUnavailable, Transaction, postgres_where
from paper_widgets.store.schema import migrate_postgres

__all__ = ["TEAM_ROLE", "grant_team", "init_team_database"]

TEAM_ROLE = "paper_widgets_team"

# What the team role may do per table; tables not listed (settings, cache, file hashes) stay local-only.
_PRIVILEGES = {
    "paper_widgets_schema": "SELECT",
    # UPDATE: a pinned .bib key or an improved never-used key replaces a key (the old one becomes an
    # alias), and the first citation records when a key was used.
    "papers": "SELECT, INSERT, UPDATE",
    "identities": "SELECT, INSERT",
    "key_aliases": "SELECT, INSERT",
    "tags": "SELECT, INSERT, DELETE",
    "changes": "SELECT, INSERT",
    "notes": "SELECT, INSERT, UPDATE",
    "note_history": "SELECT, INSERT",
    "status": "SELECT, INSERT, UPDATE",
}

# A key once used (cited, exported, noted) by anyone never changes, whoever asks: enforced by the
# database, since the team role may update papers (to pin an unused key or record a first use).
_KEEP_USED_KEYS = """
CREATE OR REPLACE FUNCTION paper_widgets_keep_used_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.used IS NOT NULL AND NEW.key IS DISTINCT FROM OLD.key THEN
        RAISE EXCEPTION 'the citekey % was used and never changes', OLD.key
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS keep_used_keys ON papers;
CREATE TRIGGER keep_used_keys BEFORE UPDATE ON papers
    FOR EACH ROW EXECUTE FUNCTION paper_widgets_keep_used_keys()
"""

# (table, policy, command, USING, WITH CHECK): a row of a note or status belongs to its author.
_POLICIES = (
    ("notes", "notes_visible", "SELECT", "author = current_user OR shared = 1", None),
    ("notes", "notes_insert_own", "INSERT", None, "author = current_user"),
    ("notes", "notes_update_own", "UPDATE", "author = current_user", "author = current_user"),
    ("note_history", "history_visible", "SELECT", "author = current_user OR shared = 1", None),
    ("note_history", "history_insert_own", "INSERT", None, "author = current_user"),
    ("status", "status_own", "ALL", "author = current_user", "author = current_user"),
)


def _connect(url: str) -> Any:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    timeout = conninfo_to_dict(url).get("connect_timeout") or CONNECT_TIMEOUT
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=int(timeout))
    except psycopg.OperationalError as error:
        raise StoreUnavailable(f"cannot reach {postgres_where(url)}: {error}".strip()) from error


def init_team_database(url: str) -> int:
    """Create or upgrade the team store at ``url`` with its role, privileges and policies, in one transaction.

    Run by the database owner (who may create roles); running it again is harmless. Returns
    the schema version the database had before.
    """
    import psycopg
    from psycopg import sql

    with _connect(url) as conn:
        try:
            with conn.transaction():
                before = migrate_postgres(Transaction(conn, "postgresql"))
                exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (TEAM_ROLE,)).fetchone()
                team = sql.Identifier(TEAM_ROLE)
                if exists is None:
                    conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(team))
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(team))
                for table, privileges in _PRIVILEGES.items():
                    conn.execute(
                        sql.SQL("GRANT " + privileges + " ON TABLE {} TO {}").format(sql.Identifier(table), team)
                    )
                conn.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(team))
                conn.execute(_KEEP_USED_KEYS)
                for table in {table for table, *_ in _POLICIES}:
                    name = sql.Identifier(table)
                    conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(name))
                    conn.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(name))
                for table, policy, command, using, check in _POLICIES:
                    names = (sql.Identifier(policy), sql.Identifier(table))
                    conn.execute(sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(*names))
                    text = "CREATE POLICY {} ON {} FOR " + command + " TO PUBLIC"
                    text += f" USING ({using})" if using else ""
                    text += f" WITH CHECK ({check})" if check else ""
                    conn.execute(sql.SQL(text).format(*names))  # our own constant SQL, no user input
        except psycopg.errors.InsufficientPrivilege as error:
            raise StoreError(
                f"paper-widgets db init needs the database owner with the right to create roles: {error}"
            ) from error
    return before


def grant_team(url: str, roles: Iterable[str]) -> list[str]:
    """Make the existing login ``roles`` members of the team at ``url`` (run by the owner); returns them."""
    import psycopg
    from psycopg import sql

    granted = []
    with _connect(url) as conn, conn.transaction():
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                raise StoreError(f"there is no PostgreSQL role {role!r}; create it first: CREATE ROLE {role} LOGIN")
            try:
                conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(TEAM_ROLE), sql.Identifier(role)))
            except psycopg.errors.UndefinedObject as error:
                raise StoreError("the team role does not exist yet: run `paper-widgets db init` first") from error
            granted.append(role)
    return granted
