#!/usr/bin/env python3
"""Checks the generated OpenAPI document against PRODUCT.md §4.3 and validates it.

    python3 typespec/check.py [openapi/openapi.yaml]

Needs the packages of typespec/requirements-check.txt (pip install -r ...). Exits non-zero and
lists every failed assertion; prints one line per passed group and a closing tally.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

try:
    import yaml
    from openapi_schema_validator import OAS30Validator, oas30_format_checker
    from openapi_spec_validator import validate as validate_spec
except ImportError as exc:  # pragma: no cover - environment problem, not a check failure
    sys.exit(f"missing package ({exc}); run: pip install -r typespec/requirements-check.txt")

ROOT = Path(__file__).resolve().parent.parent
V1 = "/api/hyperfleet/v1"

# (path, method) -> operationId: every route and method of the API server except OPTIONS, HEAD
# and the documentation routes (§4.3).
OPERATIONS = {
    ("/api/hyperfleet", "get"): "get_api_metadata",
    (f"{V1}/compatibility", "get"): "get_compatibility",
    (f"{V1}/clusters", "get"): "get_clusters",
    (f"{V1}/clusters", "post"): "post_cluster",
    (f"{V1}/clusters/{{cluster_id}}", "get"): "get_cluster_by_id",
    (f"{V1}/clusters/{{cluster_id}}", "patch"): "patch_cluster_by_id",
    (f"{V1}/clusters/{{cluster_id}}", "delete"): "delete_cluster_by_id",
    (f"{V1}/clusters/{{cluster_id}}/statuses", "get"): "get_cluster_statuses",
    (f"{V1}/clusters/{{cluster_id}}/statuses", "post"): "post_cluster_status",
    (f"{V1}/clusters/{{cluster_id}}/nodepools", "get"): "get_node_pools_by_cluster_id",
    (f"{V1}/clusters/{{cluster_id}}/nodepools", "post"): "post_node_pool",
    (f"{V1}/clusters/{{cluster_id}}/nodepools/{{nodepool_id}}", "get"): "get_node_pool_by_id",
    (f"{V1}/clusters/{{cluster_id}}/nodepools/{{nodepool_id}}", "patch"): "patch_node_pool_by_id",
    (f"{V1}/clusters/{{cluster_id}}/nodepools/{{nodepool_id}}", "delete"): "delete_node_pool_by_id",
    (f"{V1}/clusters/{{cluster_id}}/nodepools/{{nodepool_id}}/statuses", "get"): "get_node_pool_statuses",
    (f"{V1}/clusters/{{cluster_id}}/nodepools/{{nodepool_id}}/statuses", "post"): "post_node_pool_status",
    (f"{V1}/nodepools", "get"): "get_node_pools",
    (f"{V1}/events", "get"): "get_events",
    (f"{V1}/watch", "get"): "watch_events",
}
PUBLIC = {"get_api_metadata"}  # §12.4
DOC_ROUTES = ("/openapi", "/openapi-ui", f"{V1}/openapi", f"{V1}/openapi.html", f"{V1}/swagger-ui")

# Status codes each operation must list: its own (§4.x) plus the common ones (§4.1).
_READ = {"401", "405", "500", "503"}
_WRITE = _READ | {"400", "413"}
STATUS_CODES = {
    "get_api_metadata": {"200", "405", "500", "503"},
    "get_compatibility": {"200"} | _READ,
    "get_clusters": {"200", "400"} | _READ,
    "post_cluster": {"201", "409"} | _WRITE,
    "get_cluster_by_id": {"200", "404"} | _READ,
    "patch_cluster_by_id": {"200", "404", "409"} | _WRITE,
    "delete_cluster_by_id": {"204", "404"} | _READ,
    "get_cluster_statuses": {"200", "400", "404"} | _READ,
    "post_cluster_status": {"201", "204", "404"} | _WRITE,
    "get_node_pools_by_cluster_id": {"200", "400", "404"} | _READ,
    "post_node_pool": {"201", "404", "409"} | _WRITE,
    "get_node_pool_by_id": {"200", "404"} | _READ,
    "patch_node_pool_by_id": {"200", "404", "409"} | _WRITE,
    "delete_node_pool_by_id": {"204", "404"} | _READ,
    "get_node_pool_statuses": {"200", "400", "404"} | _READ,
    "post_node_pool_status": {"201", "204", "404"} | _WRITE,
    "get_node_pools": {"200", "400"} | _READ,
    "get_events": {"200", "400"} | _READ,
    "watch_events": {"200", "400"} | _READ,
}
LOCATION_ON_201 = {"post_cluster", "post_node_pool"}

_RESOURCE = ["id", "kind", "href", "name", "generation", "spec", "labels", "status",
             "created_at", "updated_at", "created_by", "updated_by"]
_STATUS = ["phase", "observed_generation", "last_transition_time", "updated_at", "adapters"]
_LIST = ["kind", "page", "size", "total", "items"]
_CREATE = ["kind", "name", "spec", "labels", "id", "href"]
_CONDITION = ["adapter", "type", "status", "reason", "message", "observed_generation",
              "created_at", "updated_at", "last_transition_time"]
# schema -> (members, optional members): "exactly the members this specification gives".
SCHEMAS = {
    "Cluster": (_RESOURCE, []),
    "ClusterCreateRequest": (_CREATE, ["kind", "labels", "id", "href"]),
    "ClusterPatchRequest": (["spec", "labels"], ["spec", "labels"]),
    "ClusterList": (_LIST, []),
    "ClusterStatus": (_STATUS, []),
    "NodePool": (_RESOURCE + ["owner_references"], []),
    "NodePoolCreateRequest": (_CREATE, ["kind", "labels", "id", "href"]),
    "NodePoolPatchRequest": (["spec", "labels"], ["spec", "labels"]),
    "NodePoolList": (_LIST, []),
    "NodePoolStatus": (_STATUS, []),
    "AdapterStatus": (["adapter", "observed_generation", "conditions", "data", "metadata",
                       "created_at", "updated_at"], ["metadata"]),
    "AdapterStatusCreateRequest": (["adapter", "observed_generation", "conditions", "data",
                                    "metadata"], ["data", "metadata"]),
    "AdapterStatusList": (_LIST, []),
    "Condition": (_CONDITION, ["reason", "message"]),
    "ConditionRequest": (_CONDITION, [m for m in _CONDITION if m not in ("type", "status")]),
    "ConditionAvailable": ([m for m in _CONDITION if m != "last_transition_time"],
                           ["reason", "message"]),
    "ObjectReference": (["id", "kind", "href"], []),
    "Event": (["kind", "id", "source", "source_id", "source_href", "event_type", "created_at",
               "reconciled_at"], ["reconciled_at"]),
    "EventList": (_LIST, []),
    "Error": (["kind", "id", "href", "code", "reason", "operation_id", "details"], ["details"]),
    "ErrorDetail": (["field", "error"], []),
}
CLOSED = ["ClusterCreateRequest", "ClusterPatchRequest", "NodePoolCreateRequest",
          "NodePoolPatchRequest", "AdapterStatusCreateRequest", "ConditionRequest"]
PHASES = ["NotReady", "Ready", "Failed"]
CONDITION_STATUSES = ["True", "False", "Unknown"]
TIMESTAMPS = {"created_at", "updated_at", "last_transition_time", "reconciled_at"}


class Checker:
    def __init__(self, doc: dict):
        self.doc = doc
        self.failures: list[str] = []
        self.passed = 0

    def expect(self, ok: bool, message: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failures.append(message)

    # -- helpers --------------------------------------------------------------------------
    def resolve(self, node):
        """Follows a local $ref (and a single-element allOf wrapper) to the schema it names."""
        while isinstance(node, dict):
            if "$ref" in node:
                node = self.lookup(node["$ref"])
            elif list(node.get("allOf", [])) and len(node["allOf"]) == 1 and "type" not in node:
                node = node["allOf"][0]
            else:
                break
        return node

    def lookup(self, ref: str):
        assert ref.startswith("#/"), ref
        node = self.doc
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def inline(self, node):
        """Returns a copy of a schema with every $ref replaced by its target (no cycles here)."""
        if isinstance(node, dict):
            if "$ref" in node:
                return self.inline(self.lookup(node["$ref"]))
            return {k: self.inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.inline(v) for v in node]
        return copy.deepcopy(node)

    def operations(self):
        for path, item in self.doc.get("paths", {}).items():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                    yield path, method, op

    # -- checks ---------------------------------------------------------------------------
    def check_info(self):
        d = self.doc
        self.expect(d.get("openapi") == "3.0.0", f"openapi is {d.get('openapi')!r}, want '3.0.0'")
        self.expect(d.get("info", {}).get("title") == "HyperFleet API", "info.title must be 'HyperFleet API'")
        self.expect(d.get("info", {}).get("version") == "1.0.0", "info.version must be '1.0.0'")
        return "openapi/info fields"

    def check_operations(self):
        seen = {}
        for path, method, op in self.operations():
            self.expect(path.startswith("/api/hyperfleet"), f"{path}: paths must be absolute")
            self.expect(not any(path == r or path.startswith(r + "/") for r in DOC_ROUTES),
                        f"{path}: documentation routes must not be listed")
            self.expect(method not in ("head", "options"), f"{method.upper()} {path}: no HEAD/OPTIONS operations")
            seen[(path, method)] = op.get("operationId")
            for key in ("operationId", "summary", "description"):
                self.expect(bool(op.get(key)), f"{method.upper()} {path}: missing {key}")
            for param in op.get("parameters", []):
                param = self.resolve(param)
                if param.get("in") == "path":
                    self.expect(param["name"] in ("cluster_id", "nodepool_id"),
                                f"{path}: unexpected path parameter {param['name']}")
        self.expect(seen == OPERATIONS, "operations differ from the expected set:\n"
                    f"  missing/different: {sorted(set(OPERATIONS.items()) - set(seen.items()))}\n"
                    f"  unexpected: {sorted(set(seen.items()) - set(OPERATIONS.items()))}")
        ids = [v for v in seen.values()]
        self.expect(len(ids) == len(set(ids)), "operationIds must be unique")
        return f"{len(seen)} operations, ids, paths"

    def check_security(self):
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        bearer = schemes.get("bearer", {})
        self.expect(bearer.get("type") == "http" and str(bearer.get("scheme", "")).lower() == "bearer",
                    "securitySchemes.bearer must be an HTTP bearer scheme")
        self.expect(bearer.get("bearerFormat") == "JWT", "securitySchemes.bearer.bearerFormat must be JWT")
        root = self.doc.get("security", [])
        for path, method, op in self.operations():
            effective = op.get("security", root)
            required = bool(effective) and all("bearer" in req for req in effective)
            if op.get("operationId") in PUBLIC:
                self.expect(all(req == {} for req in effective),
                            f"{op.get('operationId')}: public operation must not require a token")
            else:
                self.expect(required, f"{op.get('operationId')}: must require the bearer scheme")
        return "bearer scheme and per-operation security"

    def check_responses(self):
        for path, method, op in self.operations():
            op_id = op.get("operationId")
            responses = op.get("responses", {})
            codes = set(responses)
            want = STATUS_CODES.get(op_id, set())
            self.expect(codes == want, f"{op_id}: status codes {sorted(codes)}, want {sorted(want)}")
            for code, resp in responses.items():
                resp = self.resolve(resp)
                headers = resp.get("headers", {})
                self.expect("X-Operation-ID" in headers, f"{op_id} {code}: missing X-Operation-ID header")
                if code >= "400":
                    content = resp.get("content", {})
                    schema = content.get("application/json", {}).get("schema", {})
                    self.expect(list(content) == ["application/json"]
                                and schema.get("$ref") == "#/components/schemas/Error",
                                f"{op_id} {code}: errors must be application/json Error")
                if code == "401":
                    self.expect("WWW-Authenticate" in headers, f"{op_id} 401: missing WWW-Authenticate")
                if code == "405":
                    self.expect("Allow" in headers, f"{op_id} 405: missing Allow")
                if code == "503":
                    self.expect("Retry-After" in headers, f"{op_id} 503: missing Retry-After")
                if code == "201" and op_id in LOCATION_ON_201:
                    self.expect("Location" in headers, f"{op_id} 201: missing Location")
                if code == "204":
                    self.expect("content" not in resp, f"{op_id} 204: must have no body")
            if op_id == "watch_events":
                self.expect("text/event-stream" in responses.get("200", {}).get("content", {}),
                            "watch_events 200 must be text/event-stream")
        return "status codes, error bodies, headers"

    def check_schemas(self):
        schemas = self.doc.get("components", {}).get("schemas", {})
        for name, (members, optional) in SCHEMAS.items():
            schema = schemas.get(name)
            self.expect(schema is not None, f"components.schemas.{name} is missing")
            if schema is None:
                continue
            props = schema.get("properties", {})
            self.expect(schema.get("type") == "object", f"{name}: must be an object")
            self.expect(sorted(props) == sorted(members),
                        f"{name}: members {sorted(props)}, want {sorted(members)}")
            required = set(schema.get("required", []))
            self.expect(required == set(members) - set(optional),
                        f"{name}: required {sorted(required)}, want {sorted(set(members) - set(optional))}")
            for prop_name, prop in props.items():
                self.check_member(name, prop_name, self.resolve(prop))
        for name in CLOSED:
            ap = schemas.get(name, {}).get("additionalProperties")
            self.expect(ap is False or ap == {"not": {}}, f"{name}: request bodies must be closed")
        return f"{len(SCHEMAS)} schemas: members, required sets, types"

    def check_member(self, schema_name: str, name: str, prop: dict):
        where = f"{schema_name}.{name}"
        if name in TIMESTAMPS:
            self.expect(prop.get("type") == "string" and prop.get("format") == "date-time",
                        f"{where}: timestamps are strings with format date-time")
        if name in ("id", "source_id") and schema_name in ("Cluster", "NodePool", "ObjectReference", "Event"):
            want = None if (schema_name, name) == ("Event", "id") else "uuid"
            self.expect(prop.get("type") == "string" and prop.get("format") == want,
                        f"{where}: want a string with format {want}")
        if name == "labels":
            values = self.resolve(prop.get("additionalProperties", {}))
            self.expect(prop.get("type") == "object" and values.get("type") == "string",
                        f"{where}: labels are a string->string map")
        if name in ("spec", "data", "metadata"):
            ap = prop.get("additionalProperties", True)
            self.expect(prop.get("type") == "object" and ap not in (False, {"not": {}}),
                        f"{where}: free-form objects allow any member")
        if name == "generation":
            self.expect((prop.get("type"), prop.get("format"), prop.get("minimum"), prop.get("maximum"))
                        == ("integer", "int32", 1, 2147483647), f"{where}: int32 1..2147483647")
        if name == "observed_generation":
            self.expect((prop.get("type"), prop.get("format"), prop.get("minimum"), prop.get("maximum"))
                        == ("integer", "int32", 0, 2147483647), f"{where}: int32 0..2147483647")
        if name == "phase":
            self.expect(prop.get("enum") == PHASES, f"{where}: enum {PHASES}")
        if name == "status" and schema_name in ("Condition", "ConditionRequest", "ConditionAvailable"):
            self.expect(prop.get("enum") == CONDITION_STATUSES, f"{where}: enum {CONDITION_STATUSES}")

    def check_enums(self):
        found = 0

        def walk(node, where):
            nonlocal found
            if isinstance(node, dict):
                enum = node.get("enum")
                if isinstance(enum, list):
                    found += 1
                    values = set(map(str, enum))
                    self.expect(all(isinstance(v, str) for v in enum), f"{where}: enum values must be strings")
                    if "NotReady" in values:
                        self.expect(enum == PHASES, f"{where}: enum with NotReady must be {PHASES}")
                    elif "Unknown" in values:
                        self.expect(enum == CONDITION_STATUSES,
                                    f"{where}: enum with Unknown must be {CONDITION_STATUSES}")
                    else:
                        reserved = values & set(PHASES + CONDITION_STATUSES)
                        self.expect(not reserved, f"{where}: enum must not contain {sorted(reserved)}")
                for key, value in node.items():
                    walk(value, f"{where}/{key}")
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, f"{where}/{i}")

        walk(self.doc, "#")
        return f"{found} enums"

    def check_examples(self):
        count = 0

        def validate(value, schema, where):
            nonlocal count
            count += 1
            validator = OAS30Validator(self.inline(schema), format_checker=oas30_format_checker)
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
            self.expect(not errors, f"{where}: example does not match its schema: "
                        + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]))

        def media(content, where):
            for media_type, body in content.items():
                schema = body.get("schema", {})
                if "example" in body:
                    validate(body["example"], schema, f"{where} {media_type}")
                for key, ex in body.get("examples", {}).items():
                    validate(self.resolve(ex)["value"], schema, f"{where} {media_type} [{key}]")

        for path, method, op in self.operations():
            op_id = op.get("operationId")
            media(self.resolve(op.get("requestBody", {})).get("content", {}), f"{op_id} request")
            for code, resp in op.get("responses", {}).items():
                media(self.resolve(resp).get("content", {}), f"{op_id} {code}")
        for name, schema in self.doc.get("components", {}).get("schemas", {}).items():
            if "example" in schema:
                validate(schema["example"], schema, f"schema {name}")
        self.expect(count > 0, "the document has no examples")
        return f"{count} examples validate against their schemas"

    def check_spec(self):
        try:
            validate_spec(self.doc)
            self.expect(True, "")
        except Exception as exc:  # noqa: BLE001 - report any validator failure
            self.expect(False, f"openapi-spec-validator: {exc}")
        return "openapi-spec-validator (OpenAPI 3.0 schema)"


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "openapi" / "openapi.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    checker = Checker(doc)
    for check in (checker.check_info, checker.check_operations, checker.check_security,
                  checker.check_responses, checker.check_schemas, checker.check_enums,
                  checker.check_examples, checker.check_spec):
        before = len(checker.failures)
        label = check()
        status = "ok" if len(checker.failures) == before else "FAIL"
        print(f"{status:4} {label}")
    for failure in checker.failures:
        print(f"  - {failure}")
    print(f"{checker.passed} passed, {len(checker.failures)} failed")
    return 1 if checker.failures else 0


if __name__ == "__main__":
    sys.exit(main())
