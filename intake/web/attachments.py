"""Stored images served back: only as image/jpeg or image/png, never sniffed, never rendered as a page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlmodel import Session

from intake.deps import DbSession
from intake.problems import problem, problem_responses
from intake.storage import read_attachment

router = APIRouter(tags=["attachments"])

SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
    # Ids are random and content never changes: cache hard.
    "Cache-Control": "private, max-age=31536000, immutable",
}


def _serve(session: Session, att_id: str, thumb: bool) -> Response:
    found = read_attachment(session, att_id, thumb=thumb)
    if found is None:
        return problem(404, "未找到该图片", f"attachment {att_id} does not exist")
    data, content_type = found
    return Response(data, media_type=content_type, headers=SAFE_HEADERS)


@router.get("/attachments/{att_id}", responses=problem_responses(404, 422))
def get_attachment(att_id: str, session: DbSession) -> Response:
    return _serve(session, att_id, thumb=False)


@router.get("/attachments/{att_id}/thumb", responses=problem_responses(404, 422))
def get_thumbnail(att_id: str, session: DbSession) -> Response:
    return _serve(session, att_id, thumb=True)
