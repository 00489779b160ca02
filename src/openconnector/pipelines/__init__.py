"""The pipeline engine: runs pull pipelines per the DESIGN data flow."""

from openconnector.pipelines.engine import PipelineNotFound, PipelineRun, RunResult, run_pipeline
from openconnector.registers.runlog import PipelineBusy

__all__ = ["PipelineBusy", "PipelineNotFound", "PipelineRun", "RunResult", "run_pipeline"]
