"""moltctl: administration toolkit for the Molt Observatory PostgreSQL database.

The core library (connection, migrations, ingest, queries, retention) imports no
typer or rich; ``moltctl.cli`` is a thin layer over it.
"""

__version__ = "0.1.0"
