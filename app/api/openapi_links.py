"""OpenAPI links: what a client can do next with the task a response returns.

FastAPI does not write links; they are added to the generated document here. A client (and
schemathesis' stateful testing, which follows them to build create -> get/patch/complete/
delete sequences) learns that the ``id`` in a task response is the ``task_id`` of the task's
own operations.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

TASK_OPERATIONS = {
    "GetTask": ("get", "/tasks/{task_id}"),
    "UpdateTask": ("patch", "/tasks/{task_id}"),
    "CompleteTask": ("post", "/tasks/{task_id}/complete"),
    "DeleteTask": ("delete", "/tasks/{task_id}"),
    "TaskOccurrences": ("get", "/tasks/{task_id}/occurrences"),
    "TaskHistory": ("get", "/tasks/{task_id}/history"),
}
# Responses whose body is a task: (method, path, status).
TASK_RESPONSES = (
    ("post", "/tasks", "201"),
    ("get", "/tasks/{task_id}", "200"),
    ("patch", "/tasks/{task_id}", "200"),
    ("post", "/tasks/{task_id}/complete", "200"),
)


def with_links(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with links from every task response to every operation on that task."""
    paths = spec["paths"]
    for method, path, status in TASK_RESPONSES:
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": {"task_id": "$response.body#/id"},
            }
            for name, (target_method, target_path) in TASK_OPERATIONS.items()
        }
    return spec


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
