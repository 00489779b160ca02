"""The ``soap`` connector: one WSDL operation, called once per page, its result as records.

zeep builds the envelopes (SOAP 1.1 or 1.2, as the WSDL's binding says; WS-Security applied) and
reads the replies against the WSDL's schema; the envelopes travel through the shared
:class:`HttpTransport`, so retries, rate limits, auth, TLS and the failed-call log are those of
every HTTP source. A SOAP fault is never retried (asking again repeats the fault); it fails the
page with its code and string.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from lxml import etree
from zeep import AsyncClient
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.exceptions import ValidationError as ZeepValidationError
from zeep.proxy import AsyncServiceProxy
from zeep.wsdl.utils import etree_to_string
from zeep.wsse.username import UsernameToken

from openconnector.connectors import register
from openconnector.connectors.auth import NoAuth
from openconnector.connectors.base import Batch, Connector, ConnectorError, ReadBase, ReadContext
from openconnector.connectors.http import HttpTransport, snippet
from openconnector.connectors.http.body import content_type, sniff
from openconnector.connectors.http.pages import read_pages
from openconnector.connectors.http.templating import compile_value, render
from openconnector.connectors.rest.connector import cursor_with_lookback
from openconnector.connectors.rest.paging import Page, PageRequest, make_pager
from openconnector.connectors.rest.records import extract_records
from openconnector.connectors.soap.options import SoapRead, SoapSource
from openconnector.connectors.soap.values import to_json
from openconnector.connectors.soap.wsdl import (
    WHERE,
    WsdlLoader,
    WsdlRequest,
    load_document,
    settings_for,
    wsdl_display,
)


@dataclass
class _Call:
    """One operation call in flight: where it is, the HTTP response it got, and the values in the
    reply that zeep could not read by the schema."""

    where: str
    response: httpx.Response | None = None
    unreadable: list[str] = field(default_factory=list)


_CALL: ContextVar[_Call | None] = ContextVar("openconnector_soap_call", default=None)


class _UnreadableValues(logging.Filter):
    """zeep logs a value it cannot read by its type (``"abc"`` for an xsd:int) and uses ``None``.

    During one of our calls that is not allowed to pass silently: the value is kept on the call
    (which fails the page, or warns when ``strict`` is off) and zeep's traceback is not logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        call = _CALL.get()
        if call is None:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        name = ""
        tb = record.exc_info[2] if record.exc_info else None
        if tb is not None:
            local = tb.tb_frame.f_locals
            element = local.get("xmlelement")
            attribute = local.get("self") if element is None else None
            if isinstance(element, etree._Element):
                name = f"element {etree.QName(element).localname} (line {element.sourceline}): "
            elif attribute is not None and getattr(attribute, "name", None):
                name = f"attribute {attribute.name}: "
        call.unreadable.append(f"{name}{exc}" if exc else f"{name}{record.getMessage()}")
        return False


for _logger in ("zeep.xsd.types.simple", "zeep.xsd.elements.attribute"):
    logging.getLogger(_logger).addFilter(_UnreadableValues())


def _is_fault(response: httpx.Response) -> bool:
    """An error response that carries a SOAP fault (HTTP 500, or 400 for a SOAP 1.2 Sender fault)."""
    return b"Fault>" in response.content and _is_envelope(response)


def _is_envelope(response: httpx.Response) -> bool:
    """XML, or an MTOM/SwA multipart message (zeep reads both); not an HTML page or JSON."""
    ctype = content_type(response)
    return ctype.startswith("multipart/") or sniff(ctype, response.content) == "xml"


class ZeepBridge:
    """What zeep's AsyncClient posts envelopes through: the source's transport."""

    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    async def post_xml(
        self, address: str, envelope: etree._Element, headers: dict[str, str]
    ) -> httpx.Response:
        call = _CALL.get()
        where = call.where if call else None
        response = await self.http.request(
            "POST", address, content=etree_to_string(envelope), headers=headers, where=where, final=_is_fault
        )
        if call is not None:
            call.response = response
        if response.content.strip() and not _is_envelope(response):
            shown = f"POST {self.http.display(response.request.url)}"
            raise ConnectorError(
                f"{shown}: expected a SOAP envelope but the server sent "
                f"{content_type(response) or 'something else'} (HTTP {response.status_code}): "
                f"{self.http.redactor.text(snippet(response.content))}",
                where=where,
            )
        return response

    def load(self, url: str) -> bytes:  # pragma: no cover - documents are loaded by WsdlLoader
        raise ConnectorError(f"unexpected load of {url} after the WSDL was parsed", where=WHERE)

    async def aclose(self) -> None:
        """The transport belongs to the connector, which closes it."""


def _fault_message(fault: Fault) -> str:
    code = fault.code or "no fault code"
    subcodes = [str(getattr(s, "localname", s)) for s in (fault.subcodes or [])]
    sub = f" ({' / '.join(subcodes)})" if subcodes else ""
    text = (fault.message or "").strip() or "no fault string"
    return f"SOAP fault {code}{sub}: {text}"


@register
class SoapConnector(Connector):
    type = "soap"
    Source = SoapSource
    Read = SoapRead

    def __init__(self, name: str, source: SoapSource) -> None:
        super().__init__(name, source)
        self.source: SoapSource = source
        self.logger = logging.getLogger(f"openconnector.source.{name}")
        self.transport = HttpTransport(source, logger=self.logger)
        self._anonymous: HttpTransport | None = None
        self._service: AsyncServiceProxy | None = None
        self._operations: list[str] = []
        self.wsse: UsernameToken | None = None
        if source.ws_security is not None:
            wss = source.ws_security
            password = wss.password.get_secret_value()
            self.transport.redactor.add(password)
            self.wsse = UsernameToken(wss.username, password, use_digest=wss.digest)

    # -- binding ------------------------------------------------------------------------------------

    def _anonymous_transport(self) -> HttpTransport:
        """For WSDL imports on other hosts: the same options, none of the credentials."""
        if self._anonymous is None:
            bare = self.source.model_copy(update={"auth": NoAuth(), "headers": {}, "ws_security": None})
            self._anonymous = HttpTransport(bare, logger=self.logger)
        return self._anonymous

    async def service(self) -> AsyncServiceProxy:
        """The WSDL's service/port as zeep's async proxy, posting through our transport."""
        if self._service is not None:
            return self._service
        s = self.source
        location = s.wsdl_location
        loader = WsdlLoader(
            self.transport,
            asyncio.get_running_loop(),
            home=s.location or location,
            anonymous=self._anonymous_transport,
            wait=(s.timeout + s.backoff_max) * (s.retries + 1) + 5,
        )
        try:
            document = await load_document(WsdlRequest(location, s.strict), loader)
        except ConnectorError as exc:
            shown = wsdl_display(location, self.transport)
            raise ConnectorError(f"cannot load the WSDL {shown}: {exc.args[0]}", where=WHERE) from None
        client = AsyncClient(
            wsdl=document,
            transport=ZeepBridge(self.transport),
            wsse=self.wsse,
            settings=settings_for(s.strict),
        )
        services = document.services
        if not services:
            raise ConnectorError("the WSDL defines no service", where=WHERE)
        service = services.get(s.service) if s.service else next(iter(services.values()))
        if service is None:
            raise ConnectorError(
                f"the WSDL has no service {s.service!r}; it has: {', '.join(services)}", where=WHERE
            )
        ports = service.ports
        port = ports.get(s.port) if s.port else next(iter(ports.values()), None)
        if port is None:
            known = ", ".join(ports) or "none"
            raise ConnectorError(
                f"service {service.name!r} has no port {s.port!r}; it has: {known}"
                if s.port
                else f"service {service.name!r} has no ports",
                where=WHERE,
            )
        address = s.location or (port.binding_options or {}).get("address")
        if not address:
            raise ConnectorError(
                f"port {port.name!r} has no SOAP address in the WSDL; set the source's location", where=WHERE
            )
        self._service = AsyncServiceProxy(
            client, port.binding, **{**(port.binding_options or {}), "address": address}
        )
        self._operations = sorted(port.binding.all())
        return self._service

    async def check(self) -> None:
        await self.service()

    async def aclose(self) -> None:
        await self.transport.aclose()
        if self._anonymous is not None:
            await self._anonymous.aclose()

    # -- reading ------------------------------------------------------------------------------------

    async def _operation(self, name: str) -> Any:
        service = await self.service()
        if name not in self._operations:
            known = ", ".join(self._operations) or "none"
            raise ConnectorError(f"the WSDL has no operation {name!r}; its operations: {known}", where=WHERE)
        return service[name]

    async def _call(
        self, operation: Any, name: str, arguments: dict[str, Any], where: str
    ) -> tuple[Any, _Call]:
        """The operation's result (and the call, with its HTTP response), or a ConnectorError."""
        call = _Call(where)
        token = _CALL.set(call)
        try:
            return await operation(**arguments), call
        except ConnectorError:
            raise
        except Fault as fault:
            raise ConnectorError(
                f"{name}: {self.transport.redactor.text(_fault_message(fault))}", where=where
            ) from None
        except TypeError as exc:  # zeep's check of the arguments against the operation's signature
            raise ConnectorError(
                f"{name}: the arguments do not fit the operation: {exc}", where=where
            ) from None
        except TransportError as exc:
            body = self.transport.redactor.text(snippet(exc.content or b""))
            raise ConnectorError(
                f"{name}: the response is not a readable SOAP envelope (HTTP {exc.status_code}): {body}",
                where=where,
            ) from None
        except ZeepValidationError as exc:
            raise ConnectorError(f"{name}: {self.transport.redactor.text(str(exc))}", where=where) from None
        except ZeepError as exc:
            reason = self.transport.redactor.text(str(exc.message or exc))[:500]
            raise ConnectorError(f"{name}: {type(exc).__name__}: {reason}", where=where) from None
        except (etree.XMLSyntaxError, ValueError) as exc:
            reason = self.transport.redactor.text(str(exc))[:500]
            raise ConnectorError(f"{name}: the response cannot be read: {reason}", where=where) from None
        finally:
            _CALL.reset(token)

    def _unreadable(self, name: str, values: list[str]) -> str:
        more = f"; and {len(values) - 3} more" if len(values) > 3 else ""
        shown = self.transport.redactor.text("; ".join(values[:3]))
        return f"{name}: the response does not match the WSDL: {shown}{more}"

    async def read(self, read: ReadBase, ctx: ReadContext) -> AsyncIterator[Batch]:
        assert isinstance(read, SoapRead)
        operation = await self._operation(read.operation)
        arguments = compile_value(read.arguments)
        inc = read.incremental
        cursor = None
        if inc is not None and ctx.cursor is not None and not ctx.full:
            cursor = cursor_with_lookback(ctx.cursor, inc.lookback)

        async def fetch(request: PageRequest) -> Page:
            where = request.where
            variables = {"cursor": cursor, **(request.params or {})}
            args = render(arguments, variables, what=f"{read.operation} arguments", where=where)
            if inc is not None and inc.param and cursor is not None:
                args[inc.param] = cursor
            result, call = await self._call(operation, read.operation, args, where)
            if call.unreadable:
                problem = self._unreadable(read.operation, call.unreadable)
                if self.source.strict:
                    raise ConnectorError(problem, where=where)
                ctx.warnings.append(f"{where}: {problem} (read as null: strict is off)")
            body = to_json(result)
            records, errors = extract_records(
                body, read.records, paginated=read.pagination is not None, shown=read.operation, where=where
            )
            return Page(request, call.response or httpx.Response(200), body, records, errors)

        pager = make_pager(read.pagination, "", {}, follow=_no_links, display=self.transport.display)
        async for batch in read_pages(
            pager, fetch, ctx, batch_size=read.batch_size, max_pages=read.max_pages
        ):
            yield batch


def _no_links(url: str, where: str) -> None:  # pragma: no cover - soap has no next_link pagination
    raise ConnectorError("next links do not apply to SOAP", where=where)


__all__ = ["SoapConnector", "ZeepBridge"]
