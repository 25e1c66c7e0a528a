"""The kernel's settings, and the base every package's settings class derives from.

Every knob is an environment variable with the HOTLINE_ prefix (or a line in .env). Each package keeps
its own knobs in its own settings class (`<package>/settings.py`); the composition root lists them all
(`hotline.settings.SETTINGS_CLASSES`) and builds them when a process starts. A value is read through
its package's accessor (here `kernel_settings()`), which asks the one registry (`cases.providers`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases import providers

PACKAGE_DATA = Path(__file__).parent / "data"


class HotlineSettings(BaseSettings):
    """HOTLINE_<FIELD NAME> in the environment or in .env; unknown variables are some other package's."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")


class KernelSettings(HotlineSettings):
    """What every package shares: the database, the queue, the city's clock and case numbers, reference data."""

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
    reference_refresh_seconds: float = Field(
        default=30.0,
        description="How often a running process looks in the database for edited names of categories, "
        "grids and departments and reloads them when one changed. 0: never (restart to pick changes up).",
    )
    # The camera channel merges alerts with it and the pipeline links a resident's report to a camera's
    # case with it (cases/linking.py): intake and routing are peers, so the kernel keeps the one window.
    camera_merge_window_seconds: int = Field(
        default=1800,
        description="Alerts of one camera and event type this close together merge into one report; a "
        "resident's report of the same category in the same grid within it joins the camera's case.",
    )


SETTINGS = providers.Key("kernel settings", KernelSettings)


def kernel_settings() -> KernelSettings:
    return providers.get(SETTINGS)
