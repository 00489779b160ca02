"""Request bodies and response shapes (they are the OpenAPI document at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable: not_found, invalid_config, pipeline_busy, ...")
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorInfo


#: the errors any /api route can answer (documented once per router)
API_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 422)}
#: paging offsets beyond this are refused (422), not handed to the database to overflow
MAX_OFFSET = 2**31 - 1


class ListPage(BaseModel, Generic[T]):
    """The DESIGN list shape."""

    results: list[T]
    total: int
    limit: int
    offset: int


class ConsumerState(BaseModel):
    pipeline: str
    type: str
    state: str = Field(description="starting, connecting, waiting, running, backing off or stopped")
    since: str | None = None


class Status(BaseModel):
    status: str


class Readiness(Status):
    consumers: list[ConsumerState] | None = Field(
        None, description="The queue consumers, when the configuration has any."
    )


# -- objects ---------------------------------------------------------------------------------------


class ObjectSource(BaseModel):
    pipeline: str | None
    origin_id: str | None


class ObjectMeta(BaseModel):
    id: str
    register_: str = Field(alias="register")
    schema_: str = Field(alias="schema")
    version: int
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    source: ObjectSource | None = None


class ObjectDoc(_Open):
    """The object's own JSON data, plus its metadata under ``@self``."""

    self_: ObjectMeta = Field(alias="@self")


class ObjectVersion(BaseModel):
    version: int
    action: str
    actor: str | None
    run_id: str | None
    created_at: str
    data: Any


# -- runs ------------------------------------------------------------------------------------------


class RunRecord(BaseModel):
    origin_id: str | None
    outcome: str
    object_id: str | None
    error: str | None


class RunDoc(_Open):
    id: str
    pipeline: str
    trigger: str
    status: str = Field(description="queued | running | ok | partial | failed")
    dry_run: bool = False
    counts: dict[str, int]
    started_at: str | None
    finished_at: str | None
    duration_s: float | None
    errors: list[dict[str, Any]]
    warnings: list[str]


class RunDetail(RunDoc):
    records: ListPage[RunRecord] | None = Field(None, description="The per-record log (paged).")


class RunRequest(_Strict):
    full: bool = Field(False, description="Ignore the incremental cursor and the hashes.")
    dry_run: bool = Field(False, description="Report what would change; write nothing.")


class RunStarted(BaseModel):
    id: str
    pipeline: str
    trigger: str
    status: str
    dry_run: bool
    url: str


class WebhookAccepted(BaseModel):
    run_id: str | None = Field(description="The run that processes this delivery (null: nothing to run).")
    attempt_id: str
    pipeline: str
    records: int | None = Field(description="Records taken from the body (null for a pull trigger).")
    status: str


class WebhookAttempt(BaseModel):
    id: str
    pipeline: str
    received_at: str
    outcome: str
    status_code: int
    message: str | None
    signed_at: int | None
    remote: str | None
    body_bytes: int
    records: int | None
    run_id: str | None
    state: str | None


# -- configuration resources -----------------------------------------------------------------------


class ResourceMeta(_Open):
    name: str


class ResourceDoc(_Open):
    """The resource's block as written in the configuration file (secrets masked), plus ``@self``."""

    self_: ResourceMeta = Field(alias="@self")


class CreateResource(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\s/]+$")
    config: dict[str, Any] = Field(description="The block, as it would be written in the YAML file.")


class CreateSchema(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\s/]+$")
    schema_: dict[str, Any] = Field(alias="schema", description="A JSON Schema.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SchemaDoc(BaseModel):
    register_: str = Field(alias="register")
    name: str
    version: int | None
    hash: str | None
    schema_: dict[str, Any] = Field(alias="schema")
    updated_at: str | None
    file: str | None = Field(None, description="The schema's file, when it is kept in one.")


class MappingTestRequest(_Strict):
    input: Any = Field(description="A sample source record (or a list, with list=true).")
    schema_: str | None = Field(None, alias="schema", description="REGISTER/SCHEMA to validate the output.")
    list: bool = Field(False, description="The input is a list; map each item.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PathError(BaseModel):
    path: str
    message: str


class MappingTestResult(BaseModel):
    output: Any
    valid: bool | None
    errors: list[PathError]


RunStatus = Literal["queued", "running", "ok", "partial", "failed"]
