"""A fake CryoET Data Portal GraphQL endpoint, for tests that must not touch the internet.

:class:`FakePortal` serves ``POST /graphql`` on 127.0.0.1 (a free port) from a
background thread. It *executes* the queries the real ``cryoet_data_portal``
client sends, with graphql-core, against the schema that ships inside that
package, so a test exercises the client's real query building, validation
and parsing. The data are plain dicts with snake_case keys (as in the Python
models), one list per root field::

    FakePortal(
        datasets=[{"id": 10445, "title": "..."}],
        runs=[{"id": 1, "dataset_id": 10445, "name": "TS_100_3"}],
        tomograms=[{"id": 7, "run_id": 1, "voxel_spacing": 10.012, ...}],
    )

Relationships follow the portal's conventions: an item relationship ``run``
is the row of ``runs`` whose ``id`` is this row's ``run_id``; a list
relationship ``tomograms`` of a run is the rows of ``tomograms`` whose
``run_id`` is the run's ``id``. Missing non-null scalars get a placeholder
(0, "", False, the enum's first value) so test data can stay short.

Supported in ``where:``: ``_eq _neq _in _nin _gt _gte _lt _lte _is_null
_like _ilike`` on scalars, and nested filters on item and list
relationships (``run: {datasetId: {_eq: 10445}}``). ``limitOffset`` is
honoured; anything else (``orderBy``, aggregates, connections) answers with a
GraphQL error rather than a silently wrong result.
"""

from __future__ import annotations

import functools
import json
import operator
import pathlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cryoet_data_portal
import graphql
from graphql import (GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLResolveInfo,
                     GraphQLSchema, get_named_type, is_leaf_type)

from tests.loopback import LoopbackServer

SCHEMA_PATH = pathlib.Path(cryoet_data_portal.__file__).parent / "data" / "schema.graphql"


@functools.lru_cache(maxsize=1)
def portal_schema() -> GraphQLSchema:
    """The schema the installed client was generated from (parsed once; it is big)."""
    return graphql.build_schema(SCHEMA_PATH.read_text())


def snake(name: str) -> str:
    """``datasetId`` -> ``dataset_id``, ``scale0Dimensions`` -> ``scale0_dimensions``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class FakePortal(LoopbackServer):
    """An in-memory CryoET Data Portal, answering GraphQL over loopback HTTP.

    Use as a context manager (or call :meth:`start` / :meth:`stop`); ``url``
    is the endpoint to give to ``cryoet_data_portal.Client(url=...)``, and
    ``queries`` records every request body received (dicts with ``query``,
    ``variables`` and the ``user_agent`` header).
    """

    def __init__(self, **tables: list[dict]):
        self.schema = portal_schema()
        # Root list fields, e.g. {"tomograms": "Tomogram", "runs": "Run", ...}.
        self.table_of_type: dict[str, str] = {}
        for field_name, field in self.schema.query_type.fields.items():
            list_type = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            if isinstance(list_type, GraphQLList):
                self.table_of_type[get_named_type(list_type).name] = field_name
        unknown = set(tables) - set(self.table_of_type.values())
        if unknown:
            raise ValueError(f"no root field(s) {sorted(unknown)} in the portal schema")
        self.tables = {name: [dict(row) for row in rows] for name, rows in tables.items()}
        self.queries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # --- server -----------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake portal is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/graphql"

    def _make_server(self) -> ThreadingHTTPServer:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if self.path.split("?")[0] != "/graphql":
                    return self._send(404, b"not found", "text/plain")
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    query, variables = body["query"], body.get("variables")
                except (ValueError, KeyError, TypeError) as exc:
                    return self._send(400, {"errors": [{"message": f"bad request body: {exc}"}]})
                with portal._lock:
                    portal.queries.append({"query": query, "variables": variables,
                                           "user_agent": self.headers.get("User-Agent")})
                self._send(200, portal.execute(query, variables))

            def do_GET(self):
                self.send_response(405)
                self.send_header("Allow", "POST")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, status: int, payload: dict | bytes, content_type: str = "application/json"):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        return server

    # --- GraphQL ----------------------------------------------------------

    def execute(self, query: str, variables: dict | None = None) -> dict:
        """Execute one GraphQL request; the JSON answer (``data`` and maybe ``errors``)."""
        result = graphql.graphql_sync(self.schema, query, variable_values=variables,
                                      field_resolver=self._resolve)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return answer

    def _resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        if info.parent_type is self.schema.query_type:
            return self._root_field(info, **args)
        field = info.parent_type.fields[info.field_name]
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return self._scalar(source, info, field.type)
        if isinstance(named, GraphQLObjectType) and named.name in self.table_of_type and not args.get("where"):
            if f"{info.field_name}Id" in info.parent_type.fields:
                return self._related_item(source, info.field_name, named.name)
        raise NotImplementedError(f"the fake portal cannot resolve {info.parent_type.name}.{info.field_name}")

    def _root_field(self, info: GraphQLResolveInfo, where=None, orderBy=None, limitOffset=None, **other):
        if info.field_name not in self.table_of_type.values() or other:
            raise NotImplementedError(f"the fake portal does not serve {info.field_name}({', '.join(other)})")
        if orderBy:
            raise NotImplementedError("the fake portal does not implement orderBy")
        type_name = get_named_type(info.return_type).name
        rows = [row for row in self.tables.get(info.field_name, []) if self._matches(type_name, row, where or {})]
        if limitOffset:
            offset = limitOffset.get("offset") or 0
            limit = limitOffset.get("limit")
            rows = rows[offset:None if limit is None else offset + limit]
        return rows

    def _scalar(self, row: dict, info: GraphQLResolveInfo, gql_type) -> Any:
        """A row's value, or a placeholder when a non-null field is missing."""
        if info.field_name == "_id":
            return f"{info.parent_type.name}:{row.get('id')}"
        value = row.get(snake(info.field_name))
        if value is not None or not isinstance(gql_type, GraphQLNonNull):
            return value
        named = get_named_type(gql_type)
        if isinstance(named, GraphQLEnumType):
            return next(iter(named.values.values())).value
        return {"Int": 0, "Float": 0.0, "String": "", "Boolean": False}.get(named.name, "1970-01-01T00:00:00")

    def _related_item(self, row: dict, field_name: str, type_name: str) -> dict | None:
        key = row.get(f"{snake(field_name)}_id")
        for other in self.tables.get(self.table_of_type[type_name], []):
            if other.get("id") == key:
                return other
        return None

    def _related_list(self, row: dict, parent_type: str, type_name: str) -> list[dict]:
        key = f"{snake(parent_type)}_id"
        return [other for other in self.tables.get(self.table_of_type[type_name], [])
                if other.get(key) == row.get("id")]

    def _matches(self, type_name: str, row: dict, where: dict) -> bool:
        """Whether ``row`` (of GraphQL type ``type_name``) passes the ``where`` clause."""
        fields = self.schema.get_type(type_name).fields
        for name, condition in where.items():
            if name not in fields:
                raise NotImplementedError(f"the fake portal cannot filter {type_name} on {name}")
            named = get_named_type(fields[name].type)
            if is_leaf_type(named):
                if not _compare(row.get(snake(name)), condition):
                    return False
                continue
            where_type = get_named_type(self.schema.get_type(f"{type_name}WhereClause").fields[name].type)
            related = where_type.name.removesuffix("WhereClause")
            if related not in self.table_of_type:
                raise NotImplementedError(f"the fake portal cannot filter {type_name} on {name}")
            if f"{name}Id" in fields:  # item relationship, e.g. Tomogram.run
                other = self._related_item(row, name, related)
                if other is None or not self._matches(related, other, condition):
                    return False
            elif not any(self._matches(related, other, condition)  # list, e.g. Run.tomograms
                         for other in self._related_list(row, type_name, related)):
                return False
        return True


def _compare(value: Any, condition: dict) -> bool:
    """Whether a scalar passes a comparator such as ``{"_eq": 3}`` or ``{"_in": [1, 2]}``."""
    for op, operand in condition.items():
        if op == "_is_null":
            ok = (value is None) == bool(operand)
        elif value is None:  # as in SQL, null passes no comparison
            ok = False
        elif op == "_eq":
            ok = value == operand
        elif op == "_neq":
            ok = value != operand
        elif op == "_in":
            ok = value in operand
        elif op == "_nin":
            ok = value not in operand
        elif op in ("_gt", "_gte", "_lt", "_lte"):
            ok = getattr(operator, op[1:])(value, operand)
        elif op in ("_like", "_ilike"):
            pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in operand)
            ok = re.fullmatch(pattern, str(value), re.IGNORECASE if op == "_ilike" else 0) is not None
        else:
            raise NotImplementedError(f"the fake portal does not implement the {op} comparator")
        if not ok:
            return False
    return True
