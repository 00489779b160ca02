"""Load ``openconnector.yaml``: parse, interpolate, validate, resolve — and report every problem at once.

One pass collects every problem (malformed YAML stops the pass: nothing after it can be trusted).
Each section item is validated on its own, so one broken pipeline does not hide the problems of the
next; references between sections are checked against the names *written* in the file, so a
source with a typo in one key is not also reported as "unknown" by every pipeline that uses it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema_rs
from pydantic import BaseModel, ValidationError

from openconnector.config.errors import ConfigError, ConfigFileNotFound, Problem, sort_problems
from openconnector.config.humanize import (
    humanize,
    is_secretish,
    suggest,
    unknown_key_message,
    unknown_name_message,
)
from openconnector.config.interpolate import interpolate
from openconnector.config.models import MappingConfig, PipelineConfig, ProjectConfig, RegisterConfig
from openconnector.config.project import Project
from openconnector.config.yamlfile import KeyPath, LineMap, YamlSyntaxError, format_path, parse_yaml
from openconnector.connectors import Connector, ReadBase, SourceBase, connector_types, get_connector

SECTIONS = ("registers", "sources", "mappings", "pipelines")
_NAME = re.compile(r"[^\s/]+")
_SCHEMA_TYPES = "array, boolean, integer, null, number, object, string"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$OPENCONNECTOR_CONFIG``, else ``./openconnector.yaml``."""
    env = os.environ if env is None else env
    return Path(env.get("OPENCONNECTOR_CONFIG") or "openconnector.yaml")


def load_project(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Project:
    """Load and check the config file; :class:`ConfigError` lists every problem if it is not valid.

    ``env`` (default ``os.environ``) supplies ``${VAR}`` values. Schema files are read relative to
    the config file's folder. A missing file raises :class:`ConfigFileNotFound` (a ``ConfigError``
    that is also a ``FileNotFoundError``).
    """
    env = os.environ if env is None else env
    return _Loader(Path(path) if path is not None else default_config_path(env), env).load()


def _mapping_api() -> tuple[Callable[..., Any], type[Exception], Callable[..., Any] | None] | None:
    """The mapping engine's compiler, when that module is present (it is optional to this package)."""
    try:
        module = importlib.import_module("openconnector.mapping")
    except ImportError:
        return None
    compile_mapping = getattr(module, "compile_mapping", None)
    if compile_mapping is None:
        return None
    error = getattr(module, "MappingConfigError", None)
    if not (isinstance(error, type) and issubclass(error, Exception)):
        error = ValueError
    return compile_mapping, error, getattr(module, "compile_expression", None)


class _Loader:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.display = str(path)
        self.path = path.expanduser().absolute()
        self.base_dir = self.path.parent
        self.env = env
        self.lines = LineMap()
        self.problems: list[Problem] = []
        self.raw_names: dict[str, dict[str, Any]] = {}
        self.connectors: dict[str, type[Connector]] = {}
        self.sources: dict[str, SourceBase] = {}
        self.reads: dict[str, ReadBase] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self.mappings: dict[str, MappingConfig] = {}
        #: registers that failed validation: their schema names are not known for sure
        self.broken_registers: set[str] = set()
        self.references: dict[KeyPath, str] = {}

    # -- reporting ----------------------------------------------------------------------------

    def problem(self, path: KeyPath, message: str) -> None:
        line, column = self.lines.position(path)
        self.problems.append(Problem(self.display, line, format_path(path), message, column))

    def stop(self) -> ConfigError:
        return ConfigError(sort_problems(self.problems, self.display))

    def validate(self, model: type[BaseModel], data: Any, prefix: KeyPath) -> Any:
        """``model.model_validate(data)``, or ``None`` with each error recorded under ``prefix``."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:

            def secret(path: KeyPath) -> bool:
                # a secret-looking key, or a value that came from the environment
                full = (*prefix, *path)
                return is_secretish(full) or full in self.references

            for path, message in humanize(exc, model, data, secret):
                self.problem((*prefix, *path), message)
            return None

    # -- the pass -----------------------------------------------------------------------------

    def load(self) -> Project:
        raw = self.parse(self.read())
        interpolated = interpolate(raw, self.env)
        self.references = interpolated.references
        for path, message in interpolated.problems:
            self.problem(path, message)
        data: dict[str, Any] = interpolated.data

        for key in data:
            if key not in ProjectConfig.model_fields:
                self.problem((str(key),), unknown_key_message(str(key), list(ProjectConfig.model_fields)))
        sections = {name: self.section(data, name) for name in SECTIONS}
        self.raw_names = sections
        self.validate(ProjectConfig, {"settings": data.get("settings") or {}}, ())

        for name, item in sections["registers"].items():
            self.register(name, item)
        for name, item in sections["sources"].items():
            self.source(name, item)
        for name, item in sections["mappings"].items():
            cfg = self.item(MappingConfig, "mappings", name, item)
            if cfg is not None:
                self.mappings[name] = cfg
        self.compile_mappings()
        for name, item in sections["pipelines"].items():
            self.pipeline(name, item)

        if self.problems:
            raise self.stop()
        normal = {k: v for k, v in data.items() if k not in SECTIONS}
        normal.update(sections)
        if normal.get("settings") is None:
            normal.pop("settings", None)
        config = self.validate(ProjectConfig, normal, ())
        if config is None:  # pragma: no cover - every part was validated above
            raise self.stop()
        return Project(
            path=self.path,
            base_dir=self.base_dir,
            config=config,
            sources=self.sources,
            reads=self.reads,
            schemas=self.schemas,
            mappings=dict(config.mappings),
            pipelines=dict(config.pipelines),
            connectors=self.connectors,
            references=interpolated.references,
            resolved=interpolated.resolved,
        )

    def read(self) -> str:
        def fail(message: str) -> ConfigError:
            return ConfigError([Problem(self.display, None, "", message)])

        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigFileNotFound(
                [Problem(self.display, None, "", f"config file not found (looked for {self.path})")]
            ) from None
        except IsADirectoryError:
            raise fail("is a folder, not a config file") from None
        except UnicodeDecodeError as exc:
            raise fail(f"is not UTF-8 text (bad byte at offset {exc.start})") from None
        except OSError as exc:
            raise fail(f"cannot be read: {exc.strerror or exc}") from None

    def parse(self, text: str) -> dict[str, Any]:
        try:
            raw, self.lines = parse_yaml(text)
        except YamlSyntaxError as exc:
            raise ConfigError(
                [Problem(self.display, exc.line, "", f"invalid YAML: {exc.message}", exc.column)]
            ) from None
        for dup in self.lines.duplicates:
            self.problems.append(
                Problem(
                    self.display,
                    dup.line,
                    format_path(dup.path),
                    f"duplicate key (first written on line {dup.first_line})",
                )
            )
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(
                (), f"the file must be a mapping with the sections {', '.join(ProjectConfig.model_fields)}"
            )
            raise self.stop()
        return raw

    def section(self, data: dict[str, Any], name: str) -> dict[str, Any]:
        """The items of a section, keyed by their names as text (``{}`` if absent or not a mapping)."""
        value = data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem((name,), f"must be a mapping of name → {name[:-1]}")
            return {}
        items: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            if not _NAME.fullmatch(key):
                self.problem((name, key), "a name may not be empty or contain '/' or spaces")
            items[key] = item
        return items

    def item(self, model: type[BaseModel] | type[dict[str, Any]], section: str, name: str, item: Any) -> Any:
        """One section item validated by its model, with error locations inside the whole file."""
        validated = self.validate(ProjectConfig, {section: {name: item}}, ())
        if validated is None:
            return None
        result = getattr(validated, section)[name]
        assert isinstance(result, (model, dict))
        return result

    # -- sections -----------------------------------------------------------------------------

    def register(self, name: str, item: Any) -> None:
        register = self.item(RegisterConfig, "registers", name, item)
        if register is None:
            self.broken_registers.add(name)
            return
        for schema_name, spec in register.schemas.items():
            key_path: KeyPath = ("registers", name, "schemas", schema_name)
            if "/" in schema_name:
                self.problem(key_path, "a schema name may not contain '/'")
            schema = self.schema_file(key_path, spec) if isinstance(spec, str) else spec
            if schema is not None and self.check_schema(key_path, schema, None):
                self.schemas[f"{name}/{schema_name}"] = schema

    def schema_file(self, key_path: KeyPath, spec: str) -> dict[str, Any] | None:
        file = Path(spec).expanduser()
        full = file if file.is_absolute() else self.base_dir / file
        shown = (
            str(file)
            if file.is_absolute()
            else os.path.normpath(os.path.join(os.path.dirname(self.display), spec))
        )
        try:
            text = full.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(key_path, f"schema file not found: {spec} (looked for {full})")
            return None
        except IsADirectoryError:
            self.problem(key_path, f"schema file {spec} is a folder")
            return None
        except UnicodeDecodeError as exc:
            self.problem(key_path, f"schema file {spec} is not UTF-8 text (bad byte at offset {exc.start})")
            return None
        except OSError as exc:
            self.problem(key_path, f"schema file {spec} cannot be read: {exc.strerror or exc}")
            return None

        where = format_path(key_path)
        lines: LineMap | None = None
        schema: Any
        if full.suffix.lower() in (".yaml", ".yml"):
            try:
                schema, lines = parse_yaml(text)
            except YamlSyntaxError as exc:
                self.problems.append(
                    Problem(shown, exc.line, where, f"invalid YAML: {exc.message}", exc.column)
                )
                return None
        else:
            try:
                schema = json.loads(text)
            except json.JSONDecodeError as exc:
                self.problems.append(Problem(shown, exc.lineno, where, f"invalid JSON: {exc.msg}", exc.colno))
                return None
            try:  # JSON is (nearly always) YAML too: line numbers for schema errors, if we can
                lines = parse_yaml(text)[1]
            except YamlSyntaxError:
                lines = None
        if not isinstance(schema, dict):
            kind = "a list" if isinstance(schema, list) else "not an object"
            self.problems.append(
                Problem(shown, 1, where, f"must hold a JSON Schema object, but it is {kind}")
            )
            return None
        if not self.check_schema(key_path, schema, (shown, lines)):
            return None
        return schema

    def check_schema(
        self, key_path: KeyPath, schema: dict[str, Any], file: tuple[str, LineMap | None] | None
    ) -> bool:
        """Compile the schema as the register store will (jsonschema-rs, format checks on)."""
        try:
            jsonschema_rs.validator_for(schema, validate_formats=True)
            return True
        except jsonschema_rs.ValidationError as exc:
            inner = tuple(exc.instance_path)
            message = exc.message
            if list(exc.schema_path)[-2:] == ["type", "anyOf"] and inner and inner[-1] == "type":
                message = f"{json.dumps(exc.instance)} is not a JSON Schema type (one of {_SCHEMA_TYPES})"
        except Exception as exc:  # a bad $ref, an unsupported draft: reported, never a crash
            inner = ()
            message = str(exc)
        if file is None:
            self.problem((*key_path, *inner), f"not a valid JSON Schema: {message}")
        else:
            shown, lines = file
            line, column = lines.position(inner) if lines is not None else (None, None)
            pointer = "/" + "/".join(str(p) for p in inner) if inner else "the root"
            self.problems.append(
                Problem(
                    shown,
                    line,
                    format_path(key_path),
                    f"not a valid JSON Schema at {pointer}: {message}",
                    column,
                )
            )
        return False

    def source(self, name: str, item: Any) -> None:
        if self.item(dict, "sources", name, item) is None:
            return
        type_path: KeyPath = ("sources", name, "type")
        type_ = item.get("type")
        known = connector_types()
        if type_ is None:
            self.problem(type_path, f"is required (one of {', '.join(known)})")
            return
        if not isinstance(type_, str):
            self.problem(type_path, f"must be one of {', '.join(known)}")
            return
        try:
            connector = get_connector(type_)
        except KeyError:
            if type_ in known:  # built in, but its module is missing or did not register it
                self.problem(type_path, f"source type '{type_}' is not available in this build")
            else:
                self.problem(type_path, unknown_name_message("source type", type_, known))
            return
        except Exception as exc:  # a connector whose own dependency is missing or broken
            self.problem(type_path, f"source type '{type_}' cannot be loaded: {type(exc).__name__}: {exc}")
            return
        self.connectors[name] = connector
        source = self.validate(connector.Source, item, ("sources", name))
        if source is not None:
            self.sources[name] = source

    def compile_mappings(self) -> None:
        api = _mapping_api()
        if api is None:
            return
        compile_mapping, error_type, _ = api
        takes_resolver = "resolver" in inspect.signature(compile_mapping).parameters
        for name, cfg in self.mappings.items():
            prefix: KeyPath = ("mappings", name)
            try:
                if takes_resolver:
                    compile_mapping(name, cfg, resolver=self.mappings.get)
                else:
                    compile_mapping(name, cfg)
            except error_type as exc:
                found = getattr(exc, "problems", None) or [("", str(exc))]
                for key_path, message in found:
                    self.mapping_problem(prefix, key_path, str(message))
            except Exception as exc:  # the compiler's own bug must not hide the other problems
                self.problem(prefix, f"cannot be compiled: {type(exc).__name__}: {exc}")

    def mapping_problem(self, prefix: KeyPath, key_path: Any, message: str) -> None:
        if isinstance(key_path, (tuple, list)):
            self.problem((*prefix, *key_path), message)
            return
        dotted = str(key_path or "")
        full = self.lines.split_dotted(prefix, dotted) if dotted else prefix
        line, column = self.lines.position(full)
        shown = format_path(prefix) + (f".{dotted}" if dotted else "")
        self.problems.append(Problem(self.display, line, shown, message, column))

    def pipeline(self, name: str, item: Any) -> None:
        cfg = self.item(PipelineConfig, "pipelines", name, item)
        if not isinstance(item, dict):
            return
        prefix: KeyPath = ("pipelines", name)
        source = item.get("source")
        if isinstance(source, str) and source not in self.raw_names["sources"]:
            self.problem(
                (*prefix, "source"), unknown_name_message("source", source, list(self.raw_names["sources"]))
            )
        mapping = item.get("mapping")
        if isinstance(mapping, str) and mapping not in self.raw_names["mappings"]:
            self.problem(
                (*prefix, "mapping"),
                unknown_name_message("mapping", mapping, list(self.raw_names["mappings"])),
            )
        target = item.get("target")
        if isinstance(target, str) and target.count("/") == 1 and all(target.split("/")):
            self.check_target((*prefix, "target"), target)
        read = item.get("read")
        if isinstance(source, str) and source in self.connectors and isinstance(read, (dict, type(None))):
            connector = self.connectors[source]
            validated = self.validate(connector.Read, read or {}, (*prefix, "read"))
            if validated is not None:
                self.reads[name] = validated
        if isinstance(cfg, PipelineConfig) and cfg.filter:
            api = _mapping_api()
            if api is not None and api[2] is not None:
                try:
                    api[2](cfg.filter)
                except Exception as exc:
                    found = getattr(exc, "problems", None)
                    text = "; ".join(str(m) for _, m in found) if found else str(exc)
                    self.problem((*prefix, "filter"), f"is not a valid expression: {text}")

    def check_target(self, path: KeyPath, target: str) -> None:
        register, schema = target.split("/")
        registers = self.raw_names["registers"]
        if register not in registers:
            self.problem(path, unknown_name_message("register", register, list(registers)))
            return
        if register in self.broken_registers:
            return  # its own problems are reported; guessing at its schemas would only add noise
        reg = registers[register]
        schemas = reg.get("schemas") if isinstance(reg, dict) else None
        names = [str(k) for k in schemas] if isinstance(schemas, dict) else []
        if schema not in names:
            close = suggest(schema, names)
            hint = f"did you mean '{close}'?" if close else f"its schemas: {', '.join(names) or 'none'}"
            self.problem(path, f"register '{register}' has no schema '{schema}'; {hint}")
