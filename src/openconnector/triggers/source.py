"""``type: webhook``: a source for pipelines whose records only ever arrive in webhook bodies.

Such a pipeline has nothing to pull: a manual or scheduled run reads nothing, and says the read was
incomplete so it can never delete objects. Its webhook bodies go through the ordinary engine path
(:class:`openconnector.pipelines.PipelineRun` with ``records=``). ``read.records`` is the dot-path of
the record list in the body; absent, the body itself is the list (or one record).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from openconnector.connectors import Batch, Connector, ReadBase, ReadContext, SourceBase, register


class WebhookSource(SourceBase):
    type: str = "webhook"


@register
class WebhookConnector(Connector):
    type = "webhook"
    Source = WebhookSource
    Read = ReadBase

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        ctx.incomplete("records of this source arrive by webhook only; a pull reads nothing")
        return
        yield  # pragma: no cover - makes this an async generator
