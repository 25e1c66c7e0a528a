"""Attachment cleaning and storage backends (local disk, S3 through a stand-in boto3)."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from cases import providers
from cases.db import session_scope
from cases.settings import kernel_settings
from hotline.settings import reset_settings
from intake.storage import AttachmentRejected, clean_image, read_attachment, store_image


def _png(mode: str = "RGBA", size: tuple[int, int] = (40, 30), text: str | None = None) -> bytes:
    buf = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    Image.new(mode, size, (10, 20, 30, 128) if mode == "RGBA" else (10, 20, 30)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def test_transparent_png_stays_png_without_text_chunks(env: Path) -> None:
    img = clean_image(_png(text="home address: 东门路 1 号"))
    assert img.content_type == "image/png"
    out = Image.open(io.BytesIO(img.data))
    assert out.mode == "RGBA" and "Comment" not in out.info


def test_large_image_is_scaled_and_rotation_applied(env: Path) -> None:
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise for display
    Image.new("RGB", (4000, 1000), (1, 2, 3)).save(buf, "JPEG", exif=exif)
    img = clean_image(buf.getvalue())
    out = Image.open(io.BytesIO(img.data))
    assert out.size == (640, 2560)  # upright (portrait) and at most 2560 px
    assert (img.width, img.height) == out.size
    assert not out.getexif()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "图片是空的"),
        (b"%PDF-1.4 not an image", "无法识别"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "无法识别"),
    ],
)
def test_non_images_are_refused(env: Path, data: bytes, message: str) -> None:
    with pytest.raises(AttachmentRejected) as err:
        clean_image(data)
    assert message in err.value.message


def test_limits(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ATTACHMENT_MAX_PIXELS", "1000")
    reset_settings()
    with pytest.raises(AttachmentRejected) as err:
        clean_image(_png("RGB", (100, 100)))
    assert "尺寸太大" in err.value.message
    monkeypatch.setenv("HOTLINE_ATTACHMENT_MAX_BYTES", "100")
    reset_settings()
    with pytest.raises(AttachmentRejected) as err:
        clean_image(_png("RGB", (100, 100)))
    assert "图片太大" in err.value.message


def test_local_backend_round_trip(env: Path) -> None:
    with session_scope() as s:
        att = store_image(s, _png("RGB"))
        s.commit()
        data, ctype = read_attachment(s, att.id) or (b"", "")
        thumb = read_attachment(s, att.id, thumb=True)
    assert ctype == "image/jpeg" and Image.open(io.BytesIO(data)).size == (40, 30)
    assert thumb is not None and thumb[1] == "image/jpeg"
    assert (Path(kernel_settings().var_dir) / "attachments" / att.storage_key).exists()
    with session_scope() as s:
        assert read_attachment(s, "../../etc/passwd") is None


class _FakeS3:
    class exceptions:  # mirrors boto3's client.exceptions
        class NoSuchKey(Exception):
            pass

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[(Bucket, Key)] = (Body, ContentType)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise self.exceptions.NoSuchKey()
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)][0])}


def test_s3_backend_is_used_when_configured(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeS3()
    calls: list[dict[str, Any]] = []

    def client(service: str, **kw: Any) -> _FakeS3:
        calls.append({"service": service, **kw})
        return fake

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    monkeypatch.setenv("HOTLINE_ATTACHMENT_BACKEND", "s3")
    monkeypatch.setenv("HOTLINE_S3_BUCKET", "hotline-att")
    monkeypatch.setenv("HOTLINE_S3_ENDPOINT_URL", "http://minio.local:9000")
    reset_settings()
    from intake import storage

    providers.reset(storage.S3_BACKEND)
    try:
        with session_scope() as s:
            att = store_image(s, _png("RGB"))
            s.commit()
            assert read_attachment(s, att.id) is not None
        assert calls[0]["service"] == "s3" and calls[0]["endpoint_url"] == "http://minio.local:9000"
        assert {k for (_, k) in fake.objects} == {att.storage_key, att.thumb_key}
        assert not (Path(kernel_settings().var_dir) / "attachments").exists()
    finally:
        providers.reset(storage.S3_BACKEND)
