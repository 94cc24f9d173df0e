"""Request and response models of the bulk create (DESIGN 14), beside schemas.py.

Each row is read on its own with the single create's own fields (`InvitationFields`): a row that
does not fit them is that row's error, the very problem a single create would answer, and the
other rows go ahead. The request as a whole must be a list of at most 500 rows."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from teamgate.api.schemas import Input, InvitationFields, InvitationIssued, Output
from teamgate.domain.bulk import MAX_ROWS, RowOutcome

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # api/openapi.py adds it to the document

# documented as the single create's fields; read row by row in the route
Row = Annotated[Any, WithJsonSchema(InvitationFields.model_json_schema(by_alias=True))]


class BulkCreate(Input):
    invitations: Annotated[list[Row], Field(min_length=1, description=(
        f"The people to invite, in order; at most {MAX_ROWS} (more is 422 `bulk_too_large`)."))]
    send_email: bool = True
    dry_run: bool = Field(False, description="Try every row and say what would happen; write, send and emit nothing.")
    atomic: bool = Field(False, description="All or none: if any row is refused, no row is created.")


class BulkRowResult(Output):
    index: int = Field(description="The row's place in `invitations`, from 0.")
    email: str
    outcome: RowOutcome = Field(description="`would_create`: a dry run's good row, or a good row of an all-or-none "
                                            "batch that was rolled back.")
    invitation: InvitationIssued | None = Field(None, description="With `created`: as a single create answers it, "
                                                                  "with its link token.")
    error: Annotated[dict[str, Any] | None, WithJsonSchema({"anyOf": [PROBLEM_REF, {"type": "null"}]})] = Field(
        None, description="With `error`: the problem a single create would have answered for this row; "
                          "`duplicateOf` names the earlier row that holds the address.")


class BulkSummary(Output):
    created: int
    would_create: int
    errors: int
    seats_used_after: int = Field(description="Members and pending invitations after this request (for a dry run: "
                                              "as they would be).")
    seat_limit: int | None
    dry_run: bool
    atomic: bool
    rolled_back: bool = Field(description="All or none, and a row was refused: nothing was written.")


class BulkResult(Output):
    results: list[BulkRowResult]
    summary: BulkSummary
