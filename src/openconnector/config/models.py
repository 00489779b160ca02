"""The configuration file as pydantic models — the one schema that drives validation and docs.

Source blocks and pipeline ``read`` blocks are validated by the models of the connector named by
the source's ``type`` (see :mod:`openconnector.config.loader`), so each protocol owns its keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AliasChoices, BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RegisterConfig(Strict):
    description: str | None = None
    schemas: dict[str, str | dict[str, Any]] = Field(
        default_factory=dict, description="schema name → path of a JSON Schema file, or the schema inline"
    )


class MappingConfig(Strict):
    """A declarative transform from a source record to a register object.

    ``mapping``: output dot-path → expression. A string containing ``{{``/``{%`` is a Jinja2 template
    (a template that is one ``{{ expression }}`` keeps the expression's native type); any other
    string is a dot-path into the input (absent if the path does not exist); non-strings are
    constants. ``cast``: output dot-path → cast name(s). ``unset``: output paths removed at the end.
    """

    description: str | None = None
    dialect: Literal["native", "openconnector"] = "native"
    mapping: dict[str, Any] = Field(default_factory=dict)
    cast: dict[str, str | list[str]] = Field(default_factory=dict)
    unset: list[str] = Field(default_factory=list)
    pass_through: bool = Field(False, validation_alias=AliasChoices("pass_through", "passThrough"))


class ScheduleTrigger(Strict):
    schedule: str = Field(description="Cron expression, e.g. '*/15 * * * *'.")
    timezone: str = "UTC"

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        # Checked here so a typo fails `openconnector validate`, not the scheduler at 3 a.m.
        if not croniter.is_valid(v):
            raise ValueError(
                "is not a valid cron expression (five fields: minute hour day-of-month month day-of-week, "
                "e.g. '*/15 * * * *')"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not a known time zone (an IANA name such as UTC or Europe/Amsterdam)"
            ) from None
        return v


class WebhookSpec(Strict):
    secret: str = Field(description="HMAC-SHA256 secret shared with the sender; use ${ENV}.")


class WebhookTrigger(Strict):
    webhook: WebhookSpec


class ConsumeTrigger(Strict):
    consume: bool | dict[str, Any] = True


class ManualTrigger(Strict):
    manual: bool = True


TRIGGER_KINDS = ("schedule", "webhook", "consume", "manual")


def _trigger_kind(value: Any) -> str | None:
    """Pick the trigger model by the key that names it, so a bad trigger gets that model's errors
    only (a plain union would report every member's complaints)."""
    if isinstance(value, dict):
        for kind in TRIGGER_KINDS:
            if kind in value:
                return f"{kind}-trigger"
        return None
    models = (ScheduleTrigger, WebhookTrigger, ConsumeTrigger, ManualTrigger)
    for kind, model in zip(TRIGGER_KINDS, models, strict=True):
        if isinstance(value, model):
            return f"{kind}-trigger"
    return None


# Tags carry a "-trigger" suffix so they never collide with a key in an error's location.
Trigger = Annotated[
    Annotated[ScheduleTrigger, Tag("schedule-trigger")]
    | Annotated[WebhookTrigger, Tag("webhook-trigger")]
    | Annotated[ConsumeTrigger, Tag("consume-trigger")]
    | Annotated[ManualTrigger, Tag("manual-trigger")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_kind",
        custom_error_message="a trigger needs one of the keys schedule, webhook, consume, manual",
    ),
]


class RetentionConfig(Strict):
    """How long run logs are kept (``null``: forever). Audit entries are never removed by retention."""

    records_days: int | None = Field(default=30, ge=0, description="Days of per-record run logs.")
    runs_days: int | None = Field(default=365, ge=0, description="Days of run summaries.")


class PipelineConfig(Strict):
    """source + what to read + mapping + target schema + triggers."""

    description: str | None = None
    source: str
    read: dict[str, Any] = Field(default_factory=dict, description="Validated by the source's connector.")
    mapping: str | None = Field(None, description="Name of a mapping; absent = records land as they are.")
    target: str = Field(description="REGISTER/SCHEMA the objects land in.")
    filter: str | None = Field(
        None, description="Jinja2 expression over the record; records for which it is false are 'filtered'."
    )
    on_missing: Literal["keep", "delete"] = "keep"
    triggers: list[Trigger] = Field(default_factory=list)
    enabled: bool = True
    retention: RetentionConfig | None = Field(None, description="Overrides settings.retention.")

    @field_validator("target")
    @classmethod
    def _target_shape(cls, v: str) -> str:
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError("must be REGISTER/SCHEMA, e.g. crm/person")
        return v


class SettingsConfig(Strict):
    """Process-wide settings (all optional)."""

    database_url: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    retention: RetentionConfig = Field(
        default_factory=lambda: RetentionConfig(), description="Default run-log retention of every pipeline."
    )


class ProjectConfig(Strict):
    """The whole file. Sources stay plain dicts here; the loader validates each with its connector."""

    registers: dict[str, RegisterConfig] = Field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    mappings: dict[str, MappingConfig] = Field(default_factory=dict)
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict)
    settings: SettingsConfig = Field(default_factory=SettingsConfig)
