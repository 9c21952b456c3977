"""Apply the Alembic migrations shipped inside the package (``smat-bot db upgrade``)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations and the given engine's URL."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to the given revision (default: the latest)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if engine.url.get_backend_name() == "postgresql":
            # Several processes starting at once on a new database: one migrates, the others
            # wait here and then find nothing left to do (the lock ends with the transaction).
            connection.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtext("
                    "'smat-bot:migrations:' || current_database() || '/' || current_schema()))"
                )
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The latest revision shipped with this version of SMAT Bot."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
