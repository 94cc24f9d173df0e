"""`teamgate invite`: one person, or everyone in a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from teamgate.cli.common import JsonFlag, emit, fail, in_transaction, team_context
from teamgate.domain.bulk import RowOutcome, read_list
from teamgate.services import bulk_invitations, invitations


def invite(team: Annotated[str, typer.Option(help="Team id.")],
           email: Annotated[str | None, typer.Option(help="Whom to invite (or --csv for many).")] = None,
           role: Annotated[str | None, typer.Option(help="The role (with --csv: for rows that name none).")] = None,
           task: Annotated[list[str] | None, typer.Option("--task", help="Task id to assign (repeatable).")] = None,
           no_email: Annotated[bool, typer.Option("--no-email", help="Do not send; print the link.")] = False,
           expires_in_days: Annotated[int | None, typer.Option(min=1, max=30)] = None,
           csv_file: Annotated[Path | None, typer.Option(
               "--csv", dir_okay=False, help="Invite everyone in a CSV file: email, role, tasks (titles or ids, "
                                             "several separated by ;); a first line naming them is optional.")] = None,
           dry_run: Annotated[bool, typer.Option("--dry-run", help="With --csv: say what would happen, change "
                                                                   "nothing.")] = False,
           as_user: Annotated[str | None, typer.Option(
               "--as", help="Inviter's email (default: the team's owner).")] = None,
           as_json: JsonFlag = False):
    """Invite someone to a team, or everyone in a CSV file. The email is queued; a running `serve`
    or `worker` sends it. With --csv, each row is invited on its own (a refused row does not stop
    the others) and the exit code is 1 when any row was refused."""
    if csv_file is not None:
        invite_list(team, csv_file, role=role, no_email=no_email, expires_in_days=expires_in_days, dry_run=dry_run,
                    as_user=as_user, as_json=as_json)
        return
    if email is None or role is None:
        fail("give --email and --role, or --csv FILE")

    async def work(db, rt):
        ctx = await team_context(db, rt, team, as_user)
        issued = await invitations.create(db, rt, ctx, email=email, role=role, task_ids=task or [],
                                          expires_in_days=expires_in_days, send_email=not no_email)
        return issued, rt.settings.invite_url(issued.token)

    issued, url = in_transaction(work)
    emit(as_json, {"id": issued.invitation.id, "token": issued.token, "acceptUrl": url},
         f"invited {issued.invitation.email} as {issued.invitation.role} ({issued.invitation.id})\n{url}")


def invite_list(team: str, path: Path, *, role: str | None, no_email: bool, expires_in_days: int | None,
                dry_run: bool, as_user: str | None, as_json: bool) -> None:
    try:
        listed = read_list(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}")
    if not listed:
        fail(f"{path} names nobody")

    async def work(db, rt):
        ctx = await team_context(db, rt, team, as_user)
        rows = await bulk_invitations.rows_from_list(db, ctx, listed, default_role=role or "",
                                                     expires_in_days=expires_in_days)
        return await bulk_invitations.create_many(db, rt, ctx, rows, send_email=not no_email,
                                                  dry_run=dry_run), rt.settings.invite_url

    batch, invite_url = in_transaction(work)
    results, lines = [], []
    for r, row in zip(batch.results, listed, strict=True):
        shown: dict[str, Any] = {"index": r.index, "line": row.line, "email": r.email, "outcome": str(r.outcome)}
        said = "would be invited"
        if r.issued is not None:
            shown.update(id=r.issued.invitation.id, token=r.issued.token, acceptUrl=invite_url(r.issued.token))
            said = f"invited ({r.issued.invitation.id})" + (f" {shown['acceptUrl']}" if no_email else "")
        if r.error is not None:
            shown["error"] = {"code": r.error.code, "detail": r.error.detail, "errors": r.error.errors,
                              **r.error.extra}
            said = f"not invited: {r.error.code}: {r.error.detail}"
        results.append(shown)
        lines.append(f"line {row.line}: {r.email}: {said}")
    summary = {"created": batch.count(RowOutcome.CREATED), "wouldCreate": batch.count(RowOutcome.WOULD_CREATE),
               "errors": batch.count(RowOutcome.ERROR), "seatsUsedAfter": batch.seats_used,
               "seatLimit": batch.seat_limit, "dryRun": batch.dry_run}
    lines.append(f"dry run, nothing changed: {summary['wouldCreate']} would be invited, {summary['errors']} refused"
                 if dry_run else f"{summary['created']} invited, {summary['errors']} refused")
    emit(as_json, {"results": results, "summary": summary}, "\n".join(lines))
    if summary["errors"]:
        raise typer.Exit(1)
