"""Photos a grid worker takes on the phone: every one checked and cleaned (intake's attachment rules: re-encoded,
no EXIF, no GPS of the phone) before any is stored, then stored with intake's attachment storage."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from cases.states import Channel
from intake.settings import storage_settings
from intake.storage import AttachmentRejected, CleanImage, clean_image, save_image

MAX_PHOTOS = 4


class PhotoRejected(ValueError):
    """A photo cannot be used; the message is for the grid worker."""


def uploads(form: FormData, field: str = "photos") -> list[UploadFile]:
    """The files chosen in `field` (a file input left empty sends one part without a name: not a photo)."""
    return [f for f in form.getlist(field) if isinstance(f, UploadFile) and f.filename]


def cleaned(files: Sequence[UploadFile], limit: int = MAX_PHOTOS) -> list[CleanImage]:
    """Every photo decoded and cleaned, or PhotoRejected naming the first that is not usable."""
    if len(files) > limit:
        raise PhotoRejected(f"最多上传 {limit} 张照片")
    max_bytes = storage_settings().attachment_max_bytes
    out = []
    for i, f in enumerate(files, start=1):
        try:
            out.append(clean_image(f.file.read(max_bytes + 1)))
        except AttachmentRejected as exc:
            raise PhotoRejected(f"第 {i} 张照片：{exc.message}") from None
    return out


def store(session: Session, images: Sequence[CleanImage]) -> list[str]:
    """Store cleaned photos (the caller's transaction adds their rows); their attachment ids."""
    return [save_image(session, img, channel=Channel.GRID).id for img in images]
