"""The ledger service: FastAPI app, SQLModel models, migrations, CLI."""
