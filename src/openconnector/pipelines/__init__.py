"""The pipeline engine: runs pull pipelines per the DESIGN data flow.

Its names are imported on first use (:mod:`openconnector.lazy`): the writer process, which lives
here, needs none of the engine."""

from typing import TYPE_CHECKING

from openconnector.lazy import exports

if TYPE_CHECKING:
    from openconnector.pipelines.engine import PipelineNotFound, PipelineRun, RunResult, run_pipeline
    from openconnector.registers.runlog import PipelineBusy

__all__ = ["PipelineBusy", "PipelineNotFound", "PipelineRun", "RunResult", "run_pipeline"]

__getattr__ = exports(
    __name__,
    {
        "PipelineNotFound": "engine",
        "PipelineRun": "engine",
        "RunResult": "engine",
        "run_pipeline": "engine",
        "PipelineBusy": "engine",
    },
)
