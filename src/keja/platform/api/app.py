"""``KejaAPI``: a NinjaAPI with orjson in and out, problem+json errors, and an OpenAPI document
that says so (error answers are documented as ``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.types import DictStrAny

from keja.platform.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from keja.platform.api.renderers import OrjsonParser, OrjsonRenderer


class KejaAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("renderer", OrjsonRenderer())
        kwargs.setdefault("parser", OrjsonParser())
        super().__init__(**kwargs)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """``property_list`` rather than ``keja_properties_api_property_list_view``."""
        return operation.view_func.__name__.removesuffix("_view")

    def set_default_exception_handlers(self) -> None:
        install_problem_handlers(self)

    def get_openapi_schema(
        self,
        *,
        path_prefix: str | None = None,
        path_params: DictStrAny | None = None,
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        answer["content"] = {PROBLEM_MEDIA_TYPE: content["application/json"]}
        return schema
