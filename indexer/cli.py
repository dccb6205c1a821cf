"""`filmo reindex` and `filmo index`."""
import typer


def register(app: typer.Typer) -> None:
    pass
