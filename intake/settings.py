"""The intake core's knobs (the public URL, the API's rate, Open311) and attachment storage's."""

from __future__ import annotations

from pydantic import Field

from cases import providers
from cases.settings import HotlineSettings


class IntakeSettings(HotlineSettings):
    """What every channel adapter and the intake API share."""

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL the outside world uses to reach this server: Twilio signs against it, SMS links "
        "and Twilio callbacks use it. Unset, answers' URLs and the signature check use the address each "
        "request really reached; set it behind a reverse proxy.",
    )
    api_intake_per_minute: int = Field(
        default=600, description="Reports one API key may post per minute (POST /api/v1/reports; 429 beyond)."
    )
    open311_jurisdiction_id: str = Field(
        default="12319.local", description="Open311 jurisdiction_id this server answers for."
    )
    retention_raw_days: int | None = Field(
        default=None,
        ge=1,
        description="Days after a case is closed that its reports' raw channel payloads (webhook forms, "
        "camera JSON) are cleared; text, phone and place stay. Unset: kept.",
    )
    retention_attachment_days: int | None = Field(
        default=None,
        ge=1,
        description="Days after a case is closed that its reports' photos and snapshots are deleted (files "
        "and rows). Unset: kept.",
    )
    retention_batch_size: int = Field(
        default=500, ge=1, description="Reports one retention run clears at most (the sweeper runs it again)."
    )


class StorageSettings(HotlineSettings):
    """Attachments (web-form photos, MMS media, camera snapshots): limits, and where they are kept."""

    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, description="Largest accepted image upload.")
    attachment_max_pixels: int = Field(default=40_000_000, description="Largest accepted image (pixels).")
    attachment_max_side: int = Field(default=2560, description="Stored images are scaled down to this side.")
    attachment_backend: str = Field(default="local", description="'local' (var dir) or 's3' (boto3).")
    s3_bucket: str | None = Field(default=None, description="Bucket for attachments when the backend is s3.")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, OSS…).")
    s3_region: str | None = Field(default=None, description="S3 region.")
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id.")
    s3_secret_access_key: str | None = Field(default=None, description="S3 secret access key.")


SETTINGS = providers.Key("intake settings", IntakeSettings)
STORAGE_SETTINGS = providers.Key("attachment storage settings", StorageSettings)


def intake_settings() -> IntakeSettings:
    return providers.get(SETTINGS)


def storage_settings() -> StorageSettings:
    return providers.get(STORAGE_SETTINGS)
