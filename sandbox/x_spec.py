"""Every X request the sandbox serves, checked against X's OpenAPI specification as X checks it.

X refuses a request whose query parameters are not the operation's, whose values are out of
range (`max_results` bounds, `pagination_token` length, id patterns, enums of fields), or whose
JSON body has fields the schema does not define (`additionalProperties: false`) or of the wrong
type, with a 400 and its "Invalid Request" problem body. The sandbox used to accept all of that,
so a connector sending a parameter X does not have (`since_id` on `GET /2/dm_events`) passed
every test and failed on the first real run. `check` returns the problems X would report;
`sandbox.x_api` turns them into X's answer.

The operations come from `sandbox.x_spec_table` (distilled from the specification, and kept equal
to it by a test), plus the few Steward calls that X documents outside the v2 specification
(`OUTSIDE_THE_SPEC`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.x_spec_table import OPERATIONS

# docs.x.com (x-api/fundamentals/fields) documents the post fields parameter as `tweet.fields`,
# which every client sends; the generated specification calls it `post.fields`. X takes both.
PARAMETER_ALIASES = {"tweet.fields": "post.fields"}

_ID = {"type": "string", "pattern": "^[0-9]{1,19}$"}
_USER_TOKEN = ["OAuth2UserToken", "UserToken"]
# Operations X documents on docs.x.com but not in the v2 OpenAPI specification: blocking
# (Enterprise; "Manage blocks"), and the OAuth endpoints (OAuth 1.0a and 2.0 guides).
OUTSIDE_THE_SPEC: dict[str, dict[str, Any]] = {
    "POST /2/users/{id}/blocking": {
        "operation_id": "blockUser", "security": _USER_TOKEN, "body_required": True,
        "parameters": {"id": {"in": "path", "required": True, "schema": _ID}},
        "bodies": {"application/json": {
            "type": "object", "required": ["target_user_id"],
            "properties": {"target_user_id": _ID}, "additionalProperties": False}},
    },
    "DELETE /2/users/{source_user_id}/blocking/{target_user_id}": {
        "operation_id": "unblockUser", "security": _USER_TOKEN, "body_required": False,
        "parameters": {"source_user_id": {"in": "path", "required": True, "schema": _ID},
                       "target_user_id": {"in": "path", "required": True, "schema": _ID}},
        "bodies": {},
    },
    "POST /1.1/oauth/invalidate_token": {
        "operation_id": "invalidateToken", "security": ["UserToken"], "body_required": False,
        "parameters": {}, "bodies": {},
    },
}
INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"


@dataclass(frozen=True)
class Operation:
    """One operation: its key (`GET /2/dm_events`), its spec entry and its path's pattern."""

    key: str
    spec: dict[str, Any]
    pattern: re.Pattern[str]


def _compile(key: str, spec: dict[str, Any]) -> Operation:
    method, template = key.split(" ", 1)
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Operation(key, spec, re.compile(pattern + r"\Z"))


ALL_OPERATIONS = [_compile(key, spec) for key, spec in (OPERATIONS | OUTSIDE_THE_SPEC).items()]


def find(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation a request is for, and its path's parameters; None if X has none."""
    for operation in ALL_OPERATIONS:
        if not operation.key.startswith(method + " "):
            continue
        match = operation.pattern.match(path)
        if match:
            return operation, match.groupdict()
    return None


@dataclass(frozen=True)
class Problem:
    """One thing X would refuse, in its words, with the parameter it concerns."""

    message: str
    parameter: str | None = None
    value: str | None = None

    def as_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.parameter is not None:
            error["parameters"] = {self.parameter: [] if self.value is None else [self.value]}
        return error


def invalid_request_body(problems: list[Problem]) -> dict[str, Any]:
    """X's 400 body for a request its specification refuses."""
    return {"errors": [problem.as_error() for problem in problems], "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST}


def check(operation: Operation, path_parameters: dict[str, str], query: dict[str, str],
          body: bytes, content_type: str) -> list[Problem]:
    """The problems X would report with this request (none: X would serve it)."""
    declared = operation.spec["parameters"]
    problems: list[Problem] = []
    allowed = sorted(name for name, item in declared.items() if item["in"] == "query")
    for name, value in path_parameters.items():
        problems += _parameter(name, value, declared[name]["schema"])
    seen = set()
    for sent, value in query.items():
        name = PARAMETER_ALIASES.get(sent, sent)
        item = declared.get(name)
        if item is None or item["in"] != "query":
            problems.append(Problem(f"The query parameter [{sent}] is not one of "
                                    f"[{','.join(allowed)}]", sent, value))
            continue
        seen.add(name)
        problems += _parameter(sent, value, item["schema"])
    for name, item in declared.items():
        if item["in"] == "query" and item["required"] and name not in seen:
            problems.append(Problem(f"The `{name}` query parameter can not be empty", name))
    problems += _body(operation, body, content_type)
    return problems


def _parameter(name: str, value: str, schema: dict[str, Any]) -> list[Problem]:
    """A query or path parameter's value against its schema, as X words the refusals."""
    def problem(why: str) -> list[Problem]:
        return [Problem(f"The `{name}` query parameter value [{value}] {why}", name, value)]

    kind = schema.get("type")
    if kind == "array":
        items = value.split(",") if value else []
        if len(items) < schema.get("minItems", 0):
            return problem("is empty")
        if schema.get("uniqueItems") and len(set(items)) != len(items):
            return problem("has duplicate items")
        enum: list[str] = (schema.get("items") or {}).get("enum") or []
        wrong = [item for item in items if enum and item not in enum]
        if wrong:
            return problem(f"is not one of [{','.join(dict.fromkeys(enum))}]")
        return []
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", value):
            return problem("is not an integer")
        number = int(value)
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and number < low) or (high is not None and number > high):
            return problem(f"is not between {low} and {high}")
        return []
    if kind == "boolean":
        return [] if value in ("true", "false") else problem("is not a boolean")
    if "enum" in schema and value not in schema["enum"]:
        return problem(f"is not one of [{','.join(schema['enum'])}]")
    if len(value) < schema.get("minLength", 0):
        return problem(f"is shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return problem(f"is longer than {schema['maxLength']} characters")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return problem(f"does not match {schema['pattern']}")
    if schema.get("format") == "date-time" and not _is_date_time(value):
        return problem("is not a valid RFC 3339 date-time (YYYY-MM-DDTHH:mm:ssZ)")
    return []


def _is_date_time(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _body(operation: Operation, body: bytes, content_type: str) -> list[Problem]:
    bodies = operation.spec["bodies"]
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        if operation.spec["body_required"]:
            return [Problem("A request body is required for this operation")]
        return []
    if not bodies:
        return []  # X ignores a body where the operation takes none
    if kind not in bodies:
        return [Problem(f"The Content-Type [{kind}] is not one of [{','.join(bodies)}]")]
    if kind == "multipart/form-data":
        return []  # the form's parts are checked by the handler that reads them
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return [Problem("The request body is not valid JSON")]
    return [Problem(message) for message in schema_problems(document, bodies[kind], "$")]


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "integer": int,
    "number": (int, float)}


def _type_name(value: Any) -> str:
    for name in ("boolean", "object", "array", "string", "integer", "number"):
        if isinstance(value, _JSON_TYPES[name]):
            return name
    return "null"


def schema_problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """A JSON value against a (distilled) JSON schema, in the words of X's validator."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            if any(not schema_problems(value, option, where) for option in schema[key]):
                return []
            return [f"{where}: does not match any of the allowed schemas"]
    kind = schema.get("type")
    if kind is not None:
        expected = _JSON_TYPES[kind]
        wrong = not isinstance(value, expected) or (
            kind in ("integer", "number") and isinstance(value, bool))
        if wrong:
            return [f"{where}: {_type_name(value)} found, {kind} expected"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: does not have a value in the enumeration "
                        f"[{', '.join(map(str, schema['enum']))}]")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: must be at least {schema['minLength']} characters long")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: may only be {schema['maxLength']} characters long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: does not match the regex pattern {schema['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: must have a minimum value of {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: must have a maximum value of {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: there must be a minimum of {schema['minItems']} items in "
                            "the array")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where}: there must be a maximum of {schema['maxItems']} items "
                            "in the array")
        for index, item in enumerate(value):
            problems += schema_problems(item, schema.get("items") or {}, f"{where}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}.{name}: is missing but it is required")
        for name, item in value.items():
            if name in properties:
                problems += schema_problems(item, properties[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}.{name}: is not defined in the schema and the schema "
                                "does not allow additional properties")
    return problems
