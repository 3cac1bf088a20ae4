"""The postgres stack's own database and Redis db: created fresh, dropped after."""

from console import log

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"


def database_url(name):
    return f"{PG_SERVER}/{name}"


def create_database(name):
    """(Re)create ``name`` with the C collation."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(ident)
        )


def flush_redis():
    import redis

    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()


def drop_database(name):
    """Drop ``name`` and flush the Redis db; a failure is logged, not raised."""
    import psycopg
    import redis
    from psycopg import sql

    try:
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    except Exception as exc:
        log(f"could not drop database {name}: {exc}")
