"""The typed edge of the JSON API: every input is parsed here, once, by pydantic models.

A view declares what it reads and what it answers with :func:`operation`::

    @bp.get("/cases")
    @operation(query=CaseListQuery, responses={200: CasePage})
    def list_cases(query: CaseListQuery) -> Response: ...

The decorator parses the query string (and/or the JSON body) with the model before the view
runs; a bad input raises :class:`pydantic.ValidationError`, which ``server.errors`` answers
with one 400 shape (``{"error", "message", "fields"}``) for every endpoint. The same models,
and the response models, make the OpenAPI document (``server.api.openapi``), so the document
cannot drift from what the code accepts.

Rules every input follows (docs/api.md, "Errors"):

- integers are ASCII digits (``str.isdigit`` is true for "²", which ``int`` refuses) and ids
  fit the database's 32-bit integer columns;
- numbers are finite; booleans in JSON are ``true``/``false`` (never the string "false");
- text never holds NUL or unpaired surrogates (PostgreSQL refuses both);
- an empty query parameter (``?x=``) is the same as an absent one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Annotated, Any, ClassVar, TypeVar, cast, get_args, get_origin

from flask import Flask, Request, request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from server.api.util import json_body

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

INT32_MAX = 2**31 - 1  # ids are INTEGER columns (32-bit on PostgreSQL)
INT64_MAX = 2**63 - 1


# --- value types -------------------------------------------------------------------------------


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("text", "不能含 NUL 字符 / must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "text", "不是有效的 Unicode 文本 / not valid Unicode text"
            ) from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]

_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_ASCII_NUMBER = re.compile(
    r"[-+]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([eE][-+]?[0-9]{1,3})?"
)


def _query_int(value: Any) -> Any:
    """A query-string integer: ASCII digits only ("²" and "٣" are digits to ``str.isdigit``)."""
    if isinstance(value, str):
        if not _ASCII_INT.fullmatch(value.strip()):
            raise PydanticCustomError("int", "应为整数 / must be an integer (ASCII digits)")
        return int(value.strip())
    return value


def _query_number(value: Any) -> Any:
    if isinstance(value, str):
        if not _ASCII_NUMBER.fullmatch(value.strip()):
            raise PydanticCustomError("number", "应为数字 / must be a decimal number")
        return float(value.strip())
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _query_bool(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise PydanticCustomError("bool", "应为 1 或 0 / must be 1 or 0 (true or false)")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise PydanticCustomError("finite", "应为有限数 / must be a finite number")
    return value


# Query-string values (arrive as text).
# The parsers of query-string values, for models that give their own bounds:
# ``Annotated[int, Field(ge=1, le=1000), BeforeValidator(ascii_int)]`` (the bounds before the
# validator, so that they reach the OpenAPI schema as minimum/maximum).
ascii_int = _query_int
ascii_number = _query_number
finite = _finite
QId = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_query_int)]
QBool = Annotated[bool, BeforeValidator(_query_bool)]
QDate = Annotated[date, Field(json_schema_extra={"format": "date"})]

# JSON-body values (strict: a string is never a number or a boolean).
Id = Annotated[int, Field(ge=1, le=INT32_MAX, strict=True)]
Number = Annotated[float, AfterValidator(_finite)]
Lon = Annotated[float, Field(ge=-180, le=180), AfterValidator(_finite)]
Lat = Annotated[float, Field(ge=-90, le=90), AfterValidator(_finite)]
UuidText = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
        json_schema_extra={"format": "uuid"},
    ),
]


def _numeric_text(value: Any) -> Any:
    """A number, or a number written as text (the console's forms send text): finite."""
    if isinstance(value, bool):
        raise PydanticCustomError("number", "应为数字 / must be a number")
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise PydanticCustomError("number", "应为数字 / must be a number") from None
        if not value.strip().isascii():
            raise PydanticCustomError("number", "应为数字 / must be a number")
        value = number
    if isinstance(value, int):
        # A JSON integer has no size limit; one past the float range is not a number here
        # (math.isfinite and float() raise OverflowError on it: a 500 before).
        try:
            value = float(value)
        except OverflowError:
            raise PydanticCustomError("finite", "应为有限数 / must be a finite number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite", "应为有限数 / must be a finite number")
    return value


LooseNumber = Annotated[
    float,
    BeforeValidator(_numeric_text),
    PlainSerializer(lambda v: v),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"},
            ]
        }
    ),
]


# --- models ------------------------------------------------------------------------------------


# Models by name, to find a model's own error codes from a ValidationError (its ``title``).
MODELS: dict[str, type[BaseModel]] = {}


def error_code(title: str, field_name: str) -> str | None:
    """The error code a model gives a bad field (``error_codes``), if it names one."""
    model = MODELS.get(title)
    codes: dict[str, str] = getattr(model, "error_codes", {}) if model else {}
    return codes.get(field_name.split(".")[0].split("[")[0])


class Body(BaseModel):
    """A JSON request body: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", str_max_length=100_000)
    error_codes: ClassVar[dict[str, str]] = {}

    def given(self) -> dict[str, Any]:
        """The fields the client sent (for use cases that read a body dict)."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class TolerantBody(Body):
    """A body that offline clients of other versions send: unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", str_max_length=100_000)


class Query(BaseModel):
    """Query-string parameters: unknown ones are ignored (cache busters), empty = absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=10_000)
    error_codes: ClassVar[dict[str, str]] = {}  # field → the error code of a bad value


class Out(BaseModel):
    """A response shape (documentation and schemathesis; views build dicts)."""

    model_config = ConfigDict(extra="allow")


# --- the registry of operations ----------------------------------------------------------------


@dataclass
class Operation:
    query: type[Query] | None = None
    body: type[BaseModel] | None = None
    form: dict[str, Any] | None = None  # a multipart body, described as JSON Schema
    raw_body: str | None = None  # a media type for a raw body (photo pieces)
    responses: dict[int, Any] = field(default_factory=dict)
    roles: tuple[str, ...] | None = None  # None: any signed-in user
    public: bool = False  # no sign-in needed


def _list_field(model: type[BaseModel], name: str) -> bool:
    ann = model.model_fields[name].annotation
    if get_origin(ann) is list:
        return True
    return any(get_origin(a) is list for a in get_args(ann))


def _has_nul_or_surrogates(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in value


def parse_query(model: type[M]) -> M:
    """The request's query string as ``model`` (ValidationError → 400 in server.errors)."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _list_field(model, name):
            values = [v for v in request.args.getlist(key) if v != ""]
            if values:
                data[key] = values
        else:
            value = request.args.get(key)
            if value is not None and value != "":
                data[key] = value
    return model.model_validate(data)


def parse_body(model: type[M]) -> M:
    return model.model_validate(json_body())


def operation(
    *,
    query: type[Query] | None = None,
    body: type[BaseModel] | None = None,
    form: dict[str, Any] | None = None,
    raw_body: str | None = None,
    responses: dict[int, Any] | None = None,
    roles: tuple[str, ...] | None = None,
    public: bool = False,
    parse: bool = True,
) -> Callable[[F], F]:
    """Parse the inputs of a view with typed models and record the operation for OpenAPI.

    The view receives ``query=`` and/or ``body=`` (the parsed models) as keyword arguments;
    with ``parse=False`` the models only describe what the view parses itself.
    """
    op = Operation(query, body, form, raw_body, dict(responses or {200: None}), roles, public)
    for model in (query, body):
        if model is not None:
            MODELS[model.__name__] = model

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parse:
                return fn(*args, **kwargs)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return fn(*args, **kwargs)

        wrapper.__operation__ = op  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return deco


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return cast(Operation | None, getattr(view, "__operation__", None))


# --- path ids ----------------------------------------------------------------------------------


class IdConverter(IntegerConverter):
    """``<int:...>`` in every URL: ASCII digits only (werkzeug's ``\\d+`` also matches ``١``,
    Arabic-Indic one, which ``int()`` reads as 1), at most the largest database id, else 404
    (never a 500 from an integer the database cannot hold).

    An out-of-range id is a 404 for every method: a plain ``ValidationError`` made werkzeug try
    the other rules on the same path, and a PATCH or PUT then answered 405 because a rule of
    another method had matched."""

    regex = r"[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        number = int(value)
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise NotFound()
        return super().to_python(value)


class EdgeRequest(Request):
    """A request whose form never holds a field without a name.

    Werkzeug keeps a multipart part whose ``name`` it cannot read (e.g. ``name="a\\"``) under
    the key ``None``; Flask-WTF's CSRF check then calls ``None.endswith`` and every POST with
    such a body was a 500, signed in or not. Such parts are dropped here."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for key in ("form", "files"):
            data = self.__dict__.get(key)
            if data is not None and None in data:
                kept = [(k, v) for k, v in data.items(multi=True) if k is not None]
                self.__dict__[key] = ImmutableMultiDict(kept)


def install(app: Flask) -> None:
    """Bounded integer path converters (before any blueprint is registered) and a request
    class whose form keys are all names."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = EdgeRequest
