"""``vendorlink serve`` (the investigator app) and ``vendorlink app-token``."""

from pathlib import Path
from typing import Annotated

import typer

from vendorlink.cli import WorkspaceArg, console
from vendorlink.errors import InputError, WorkspaceError


def _require_app_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import jinja2  # noqa: F401
        import multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"the app needs the `app` extra ({exc.name} is missing): pip install 'vendorlink[app]'"
        ) from exc


def serve(
    workspace: WorkspaceArg = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    model: Annotated[
        str | None,
        typer.Option(help="Vendor model: a folder or a name under artefacts/models."),
    ] = None,
    max_request_mb: Annotated[float, typer.Option(help="Largest request body (MB).")] = 25.0,
    max_image_mb: Annotated[float, typer.Option(help="Largest uploaded image (MB).")] = 8.0,
) -> None:
    """Serve the investigator app (web pages and HTTP API) over a workspace."""
    _require_app_extra()
    import uvicorn

    from vendorlink.app.config import MB, AppSettings
    from vendorlink.app.server import create_app
    from vendorlink.app.services import Services

    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]warning:[/yellow] listening on {host}: other machines can reach the app "
            "(use HTTPS in front of it; every request still needs the token)."
        )
    settings = AppSettings(
        workspace=workspace, model=model,
        max_request_bytes=int(max_request_mb * MB), max_image_bytes=int(max_image_mb * MB),
    )  # fmt: skip
    services = Services(settings)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if services.first_token:
        console.print(
            "[bold]Access token[/bold] (shown only this once; it is stored hashed in the "
            f"workspace):\n\n    {services.first_token}\n\n"
            "Log in at the URL below with it, or send `Authorization: Bearer TOKEN`. "
            "`vendorlink app-token` makes a new one."
        )
    console.print(
        f"vendorlink app on [bold]{url}[/bold] · workspace {workspace} · model "
        f"{services.model_folder.name if services.model_folder else '(none)'} · API schema "
        f"{url}api/openapi.json"
    )
    uvicorn.run(create_app(settings, services), host=host, port=port, log_level="warning")


def app_token(
    workspace: WorkspaceArg = Path("."),
    name: Annotated[str, typer.Option(help="Whose token (the name in the audit log).")] = (
        "analyst"
    ),
) -> None:
    """Create or replace an access token of the app (printed once, stored hashed)."""
    from vendorlink.app.security import create_token
    from vendorlink.data.workspace import Workspace

    ws = Workspace.open(workspace)
    try:
        with ws.connect() as con:
            token = create_token(con, name)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    except WorkspaceError as exc:
        raise WorkspaceError(f"{exc} (stop `vendorlink serve` on it first)") from exc
    console.print(f"token for [bold]{name}[/bold] (shown only once):\n\n    {token}\n")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("app-token")(app_token)
