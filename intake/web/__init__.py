"""The resident-facing mobile web form (H5) under /h5/, and stored images under /attachments/."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from intake.web import attachments, form, track
from intake.web.templating import STATIC_DIR, STATIC_FILES

router = APIRouter()
router.include_router(form.router)
router.include_router(track.router)
router.include_router(attachments.router)


@router.get("/h5", include_in_schema=False)
def h5_root() -> RedirectResponse:
    return RedirectResponse("/h5/", status_code=307)


@router.get("/h5/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response(status_code=404)
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
