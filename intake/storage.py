"""Attachments: check an uploaded image, strip its metadata, store it and a thumbnail.

Every image is decoded and re-encoded by Pillow, never stored as uploaded: that drops EXIF (GPS, phone
model, owner name), XMP and text chunks, and guarantees that what we serve back is really an image of
the type we say. Bytes go to local disk under the var dir by default, or to S3-compatible object storage
(`HOTLINE_ATTACHMENT_BACKEND=s3`); boto3 is imported only then.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session

from cases import providers
from cases.settings import kernel_settings
from cases.states import Channel
from intake.models import Attachment
from intake.settings import StorageSettings, storage_settings

# What we accept from residents and cameras, and the only types we ever serve back.
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "MPO"}
SAFE_CONTENT_TYPES = {"image/jpeg", "image/png"}
THUMB_SIDE = 320
ATTACHMENT_PREFIX = "att_"


class AttachmentRejected(ValueError):
    """The upload is not an acceptable image. `message` is Chinese, for the resident."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(detail)
        self.message = message


class Backend(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None:
        """Remove the object; one already gone is not an error (a retention run repeated)."""


@dataclass
class LocalBackend:
    root: Path

    def _path(self, key: str) -> Path:
        # Keys are made here (hex ids), never from user input; the check is a second line of defence.
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.exists() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class S3Backend:
    def __init__(self, settings: StorageSettings) -> None:
        import boto3  # lazy: only deployments that configure S3 need it installed

        if not settings.s3_bucket:
            raise RuntimeError("HOTLINE_ATTACHMENT_BACKEND=s3 needs HOTLINE_S3_BUCKET")
        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        data: bytes = obj["Body"].read()
        return data

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # S3 answers 204 for a missing key too


# One S3 client per process (boto3 clients are thread-safe and slow to make).
S3_BACKEND = providers.Key("S3 attachment backend", lambda: S3Backend(storage_settings()))


def get_backend(settings: StorageSettings | None = None) -> Backend:
    settings = settings or storage_settings()
    if settings.attachment_backend == "s3":
        return providers.get(S3_BACKEND)
    return LocalBackend(Path(kernel_settings().var_dir) / "attachments")


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    width: int
    height: int
    thumb: bytes


def _encode(img: Image.Image, max_side: int) -> tuple[bytes, str]:
    img = img.copy()
    img.thumbnail((max_side, max_side))
    out = io.BytesIO()
    if img.mode == "RGBA":
        img.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    img.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), "image/jpeg"


def clean_image(data: bytes, settings: StorageSettings | None = None) -> CleanImage:
    """Decode, check and re-encode an image without any of its metadata. Raises AttachmentRejected."""
    settings = settings or storage_settings()
    if not data:
        raise AttachmentRejected("图片是空的，请重新选择", "empty upload")
    if len(data) > settings.attachment_max_bytes:
        mb = settings.attachment_max_bytes // (1024 * 1024)
        raise AttachmentRejected(f"图片太大，每张不能超过 {mb} MB", f"{len(data)} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if fmt not in ACCEPTED_FORMATS:
                    raise AttachmentRejected("只能上传 JPG、PNG、WebP 或 GIF 图片", f"format {fmt}")
                if probe.width * probe.height > settings.attachment_max_pixels:
                    raise AttachmentRejected("图片尺寸太大，请换一张", f"{probe.width}x{probe.height}")
                probe.load()
                # Phones store rotation in EXIF; apply it before EXIF is thrown away.
                img = ImageOps.exif_transpose(probe)
                if getattr(probe, "is_animated", False):
                    img = img.copy()  # first frame only
    except AttachmentRejected:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise AttachmentRejected("无法识别这张图片，请上传 JPG 或 PNG 照片", f"{type(exc).__name__}: {exc}") from None
    # Build a fresh image from the pixels only: no info dict, no EXIF, no ICC, no XMP, no text chunks.
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    img = img.convert("RGBA" if has_alpha else "RGB")
    pixels = Image.new(img.mode, img.size)
    pixels.paste(img)
    body, content_type = _encode(pixels, settings.attachment_max_side)
    thumb, _ = _encode(pixels.convert("RGB"), THUMB_SIDE)
    w, h = pixels.size
    scale = min(1.0, settings.attachment_max_side / max(w, h))
    return CleanImage(body, content_type, round(w * scale), round(h * scale), thumb)


def store_image(session: Session, data: bytes, channel: Channel = Channel.WEB) -> Attachment:
    """Clean and store an image and its thumbnail; add (not commit) its Attachment row."""
    return save_image(session, clean_image(data), channel)


def save_image(session: Session, img: CleanImage, channel: Channel | str = Channel.WEB) -> Attachment:
    """Store an already cleaned image (check every photo of a report first, then save: no orphans).
    `channel`: where it came from — a report's channel, or `dept` for a department's 反馈 photos."""
    att_id = ATTACHMENT_PREFIX + uuid.uuid4().hex
    ext = "png" if img.content_type == "image/png" else "jpg"
    key = f"{att_id[4:6]}/{att_id}.{ext}"
    thumb_key = f"{att_id[4:6]}/{att_id}.thumb.jpg"
    backend = get_backend()
    backend.put(key, img.data, img.content_type)
    backend.put(thumb_key, img.thumb, "image/jpeg")
    att = Attachment(
        id=att_id,
        content_type=img.content_type,
        size=len(img.data),
        width=img.width,
        height=img.height,
        sha256=hashlib.sha256(img.data).hexdigest(),
        storage_key=key,
        thumb_key=thumb_key,
        channel=channel,
    )
    session.add(att)
    return att


def read_attachment(session: Session, att_id: str, thumb: bool = False) -> tuple[bytes, str] | None:
    """The stored bytes and their (always safe) content type, or None."""
    if not att_id.startswith(ATTACHMENT_PREFIX) or len(att_id) > 40:
        return None
    att = session.get(Attachment, att_id)
    if att is None:
        return None
    key = att.thumb_key if thumb and att.thumb_key else att.storage_key
    data = get_backend().get(key)
    if data is None:
        return None
    content_type = "image/jpeg" if thumb else att.content_type
    if content_type not in SAFE_CONTENT_TYPES:
        return None
    return data, content_type
