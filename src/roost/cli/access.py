"""``roost token …`` and ``roost role …``: who may use the API, and what each may do where.

Both go through the API and need an admin's credential (the project owner has one). A new
token is printed once; roost keeps only its hash.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from roost.cli._api import api_url, call
from roost.cli._formats import FormatOpt, chosen, emit
from roost.cli._inputs import part
from roost.cli._options import ApiOpt, JsonOpt, ProjectOpt
from roost.cli._output import console
from roost.cli._tables import Table

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
role_app = typer.Typer(
    help="Role bindings: who is viewer, deployer, approver or admin, where.", no_args_is_help=True
)

RoleOpt = Annotated[
    str, typer.Option("--role", help="viewer, deployer, approver or admin.", show_default=False)
]
EnvPatternOpt = Annotated[
    str,
    typer.Option("--env", "-e", help="Environment pattern, e.g. production, staging-*, *."),
]
ServicePatternOpt = Annotated[
    str, typer.Option("--service", help="Service pattern (default: every service).")
]


@token_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The token's name: who it authenticates as.")],
    role: RoleOpt,
    environment: EnvPatternOpt = "*",
    service: ServicePatternOpt = "*",
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h, 2w (default: none).")
    ] = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a token NAME with ROLE on the environments ENV matches; print it once."""
    base = api_url(api, project)
    body = {"name": name, "role": role, "environment": environment, "service": service}
    if expires is not None:
        body["expires"] = expires
    made: dict[str, Any] = call("POST", f"{base}/api/v1/auth/tokens", json=body)
    if as_json:
        typer.echo(json.dumps(made, sort_keys=True))
        return
    until = f", expires {made['expires_at']}" if made.get("expires_at") else ""
    typer.echo(made["token"])
    console.print(
        f"token {made['name']}: {made['role']} on {made['environment']}{until} — shown only "
        "now; send it as `Authorization: Bearer …`, or ROOST_TOKEN / --token for the CLI",
        markup=False,
        style="dim",
    )


@token_app.command("list")
def list_tokens(
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Every token with its roles, expiry and last use (never the token itself). ``--json``
    prints the API's bare list, as before ``-o``; ``-o json`` the documented TokenList."""
    fmt = chosen(output)
    base = api_url(api, project)
    tokens: list[dict[str, Any]] = call("GET", f"{base}/api/v1/auth/tokens")
    if fmt is not None:
        from roost.cli._shapes_ops import TokenList

        emit(TokenList.model_validate({"items": tokens}), fmt)
        return
    if as_json:
        typer.echo(json.dumps(tokens, sort_keys=True))
        return
    table = Table("name", "roles", "created", "by", "expires", "last used", "state", title="tokens")
    for t in tokens:
        roles = ", ".join(
            f"{r['role']}@{r['environment']}" + ("" if r["service"] == "*" else f"/{r['service']}")
            for r in t["roles"]
        )
        state = "revoked" if t["revoked_at"] else "active"
        table.add_row(
            t["name"],
            roles or "—",
            t["created_at"][:19],
            t["created_by"],
            (t["expires_at"] or "never")[:19],
            (t["last_used_at"] or "never")[:19],
            state,
        )
    console.print(table)


@token_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="The token to revoke.")],
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """Revoke a token for good."""
    base = api_url(api, project)
    done = call("DELETE", f"{base}/api/v1/auth/tokens/{part(name)}")
    console.print(f"revoked {done['name']}", markup=False)


def _binding(subject: str, role: str, environment: str, service: str) -> dict[str, str]:
    return {"subject": subject, "role": role, "environment": environment, "service": service}


@role_app.command("grant")
def grant(
    subject: Annotated[str, typer.Argument(help="A token name, OIDC subject or group:NAME.")],
    role: Annotated[str, typer.Argument(help="viewer, deployer, approver or admin.")],
    environment: EnvPatternOpt = "*",
    service: ServicePatternOpt = "*",
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """Give SUBJECT the ROLE on the environments (and services) the patterns match."""
    base = api_url(api, project)
    done = call(
        "POST", f"{base}/api/v1/auth/roles", json=_binding(subject, role, environment, service)
    )
    verb = "granted" if done["granted"] else "already held:"
    console.print(f"{verb} {subject} {role} on {environment}/{service}", markup=False)


@role_app.command("revoke")
def revoke_role(
    subject: Annotated[str, typer.Argument(help="A token name, OIDC subject or group:NAME.")],
    role: Annotated[str, typer.Argument(help="viewer, deployer, approver or admin.")],
    environment: EnvPatternOpt = "*",
    service: ServicePatternOpt = "*",
    project: ProjectOpt = None,
    api: ApiOpt = None,
) -> None:
    """Take one binding away, as it was granted."""
    base = api_url(api, project)
    call(
        "POST",
        f"{base}/api/v1/auth/roles/revoke",
        json=_binding(subject, role, environment, service),
    )
    console.print(f"revoked {subject} {role} on {environment}/{service}", markup=False)


@role_app.command("list")
def list_roles(
    subject: Annotated[str | None, typer.Option(help="Only this subject's bindings.")] = None,
    project: ProjectOpt = None,
    api: ApiOpt = None,
    as_json: JsonOpt = False,
    output: FormatOpt = None,
) -> None:
    """Every role binding. ``--json`` prints the API's bare list, as before ``-o``; ``-o json``
    the documented RoleList."""
    fmt = chosen(output)
    base = api_url(api, project)
    params = {"subject": subject} if subject else None
    rows: list[dict[str, Any]] = call("GET", f"{base}/api/v1/auth/roles", params=params)
    if fmt is not None:
        from roost.cli._shapes_ops import RoleList

        emit(RoleList.model_validate({"items": rows}), fmt)
        return
    if as_json:
        typer.echo(json.dumps(rows, sort_keys=True))
        return
    table = Table("subject", "role", "environment", "service", "by", "at", title="roles")
    for r in rows:
        table.add_row(
            r["subject"],
            r["role"],
            r["environment"],
            r["service"],
            r["created_by"],
            r["created_at"][:19],
        )
    console.print(table)
