"""The one settings object. Every knob is an environment variable with the HOTLINE_ prefix (or a line in .env)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DATA = Path(__file__).parent / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    # --- storage and queue -------------------------------------------------------------
    database_url: str = Field(
        default="sqlite:///var/hotline.db",
        description="SQLAlchemy URL. SQLite file by default; postgresql+psycopg://... in production.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL. Unset: jobs run in-process on a background thread."
    )
    queue_name: str = Field(default="hotline", description="RQ queue name.")
    var_dir: Path = Field(default=Path("var"), description="Where the embedded default keeps files.")

    # --- jobs -----------------------------------------------------------------------------
    job_max_attempts: int = Field(default=4, description="A job is tried this often before it is failed.")
    job_retry_intervals: list[int] = Field(default=[2, 10, 60], description="Seconds between attempts (back-off).")
    sweep_interval_seconds: int = Field(default=30, description="How often the sweeper runs.")
    sweep_delay_seconds: int = Field(
        default=60, description="A report without a case this long after its last attempt is re-enqueued."
    )

    # --- the city ---------------------------------------------------------------------------
    timezone: str = Field(default="Asia/Shanghai", description="Local time for case numbers and calendars.")
    case_number_prefix: str = Field(default="12319", description="Prefix of public case numbers.")
    reference_data_dir: Path = Field(
        default=PACKAGE_DATA, description="Folder with taxonomy, grids, departments and routing seed files."
    )
    routing_rules_path: Path | None = Field(
        default=None, description="Routing rules YAML. Unset: the shipped routing/data/rules.yaml."
    )

    # --- web ------------------------------------------------------------------------------------
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL the outside world uses to reach this server (Twilio signs against it).",
    )
    host: str = Field(default="127.0.0.1", description="Bind address of `hotline serve`.")
    port: int = Field(default=8000, description="Port of `hotline serve`.")
    web_workers: int = Field(default=1, description="uvicorn worker processes for `hotline serve`.")
    migrate_on_start: bool = Field(
        default=True, description="Upgrade the schema and seed reference data when the web app starts."
    )
    warm_up_on_start: bool = Field(
        default=True,
        description="Load the category model, call flows and speech hints when the web app starts, before "
        "it accepts requests (not during a caller's first sentence).",
    )
    log_level: str = Field(default="INFO", description="Log level.")
    log_format: Literal["console", "json"] = Field(
        default="console",
        description="'console' (one readable line per record) or 'json' (one JSON object per line, with the "
        "request, report and case ids it is about).",
    )

    # --- web form, cameras, Open311, attachments (issue 6) ----------------------------------------
    secret_key: str | None = Field(
        default=None,
        description="Signs the web form's CSRF tokens. Set the same value on every web node; "
        "unset: a random key per process (fine for one node, forms break across restarts).",
    )
    web_rate_ip_per_hour: int = Field(default=20, description="Web-form reports accepted per IP per hour.")
    web_rate_phone_per_day: int = Field(default=10, description="Web-form reports accepted per phone per day.")
    web_form_max_age_seconds: int = Field(
        default=4 * 3600, description="A web form (its CSRF token) older than this must be reloaded."
    )
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, description="Largest accepted image upload.")
    attachment_max_pixels: int = Field(default=40_000_000, description="Largest accepted image (pixels).")
    attachment_max_side: int = Field(default=2560, description="Stored images are scaled down to this side.")
    attachment_backend: str = Field(default="local", description="'local' (var dir) or 's3' (boto3).")
    s3_bucket: str | None = Field(default=None, description="Bucket for attachments when the backend is s3.")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, OSS…).")
    s3_region: str | None = Field(default=None, description="S3 region.")
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id.")
    s3_secret_access_key: str | None = Field(default=None, description="S3 secret access key.")
    camera_max_skew_seconds: int = Field(
        default=300, description="A camera alert signed longer ago (or further ahead) than this is refused."
    )
    camera_merge_window_seconds: int = Field(
        default=1800,
        description="Alerts of one camera and event type this close together merge into one report; a "
        "resident's report of the same category in the same grid within it joins the camera's case.",
    )
    camera_snapshot_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest camera snapshot.")
    api_intake_per_minute: int = Field(
        default=600, description="Reports one API key may post per minute (POST /api/v1/reports; 429 beyond)."
    )
    track_attempts_per_case_per_hour: int = Field(
        default=10, description="Track-page lookups by case number + phone for one case per hour (then refused)."
    )
    open311_jurisdiction_id: str = Field(
        default="12319.local", description="Open311 jurisdiction_id this server answers for."
    )

    # --- telephony: Twilio voice, SMS and outbound calls (issue 5) ---------------------------------
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID (AC...).")
    twilio_auth_token: str | None = Field(
        default=None, description="Twilio auth token: signs webhooks and authenticates the REST client."
    )
    twilio_from_number: str | None = Field(default=None, description="The hotline's number (E.164) for outbound.")
    twilio_api_base_url: str | None = Field(
        default=None, description="Replaces https://api.twilio.com in REST calls (a local stand-in in tests)."
    )
    twilio_voice: str = Field(default="Polly.Zhiyu", description="Mandarin TTS voice for <Say>.")
    twilio_language: str = Field(default="cmn-CN", description="Language of <Say> prompts.")
    twilio_speech_language: str = Field(default="zh-CN", description="Language of speech <Gather>.")
    twilio_agent_queue: str = Field(default="agents", description="TaskRouter-less <Enqueue> queue name.")
    twilio_hold_music_url: str | None = Field(default=None, description="Hold music played while queued.")
    twilio_queue_max_wait_seconds: int = Field(default=120, description="Then the caller goes to voicemail.")
    twilio_rate_per_second: float = Field(default=5.0, description="Outbound REST requests per second.")
    twilio_max_attempts: int = Field(default=3, description="Tries per outbound message or call.")
    ivr_flows_dir: Path | None = Field(default=None, description="Call-flow YAML folder. Unset: ivr_flows/flows.")
    ivr_recordings_base_url: str | None = Field(
        default=None, description="Recorded prompts: a prompt with `audio:` is played from this base URL."
    )
    ivr_readback_min_confidence: float = Field(
        default=0.35,
        description="Below this category confidence (or Twilio speech confidence) a call does not read a "
        "category back: it asks again in plainer words, then offers an agent.",
    )
    agent_hours: str = Field(default="08:30-17:30", description="Agents answer calls (city time, HH:MM-HH:MM).")
    quiet_hours: str = Field(default="21:00-08:00", description="No outbound notices or survey calls then.")
    sms_thread_window_minutes: int = Field(
        default=30, description="Texts from one number this close together add to the same open report."
    )
    survey_delay_minutes: int = Field(default=10, description="Survey call this long after a case is verified (核实).")

    # --- classifier (issue 4) ---------------------------------------------------------------------------
    category_auto_threshold: float = Field(
        default=0.6, description="Category confidence at or above which a case dispatches without an agent."
    )
    grid_auto_threshold: float = Field(
        default=0.6, description="Grid confidence at or above which a case dispatches without an agent."
    )
    category_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description='Per-category overrides of category_auto_threshold, JSON: {"01011": 0.95}.',
    )
    classifier_model_path: Path | None = Field(
        default=None,
        description="A .skops category model to use. Unset: the active version in the database, else the "
        "shipped default (classifiers/models/default).",
    )
    classifier_refresh_seconds: float = Field(
        default=30.0,
        description="How often a running process looks in the database for a newly activated model, a "
        "category a city disabled or an edited grid layer, and reloads the classifier when one changed. "
        "0: never (restart to pick changes up).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
