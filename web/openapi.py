"""The OpenAPI 3.0 document of /api/v1 (built from this table plus other areas' additions)."""

from __future__ import annotations

from typing import Any

_ERR = {"$ref": "#/components/responses/Error"}
_STD = {"400": _ERR, "401": _ERR, "403": _ERR, "404": _ERR}


def _q(name: str, desc: str, typ: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": desc,
            "schema": {"type": typ, **extra}}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _ok(schema: dict[str, Any], desc: str = "OK") -> dict[str, Any]:
    return {"200": {"description": desc, "content": {"application/json": {"schema": schema}}},
            **_STD}


_WEEK = _q("week", "ISO week like 2026-W47 (default: the newest)", pattern=r"^\d{4}-W\d{2}$")
_RANK_FILTERS = [_q("market", "ISO 3166-1 alpha-2 market"), _q("channel", "channel"),
                 _q("kind", "source kind", enum=["ticket", "survey", "review", "chat"]),
                 _q("policy", "policy name from the taxonomy")]
_VERBATIM_FILTERS = [
    _q("q", "full-text query: words, \"phrases\", -excluded"),
    _q("from", "first day (inclusive)", format="date"),
    _q("to", "last day (inclusive)", format="date"),
    _q("topic", "topic id", "integer"), _q("policy", "policy name"),
    _q("market", "market"), _q("channel", "channel"), _q("language", "ISO 639-1 language"),
    _q("sentiment", "sentiment label", enum=["negative", "neutral", "positive", "unsupported"]),
    _q("csat_min", "lowest CSAT", "integer", minimum=1, maximum=5),
    _q("csat_max", "highest CSAT", "integer", minimum=1, maximum=5),
    _q("escalated", "handed over to a person", enum=["yes", "no"]),
    _q("source", "source name"), _q("kind", "source kind"),
]
_PAGE = [_q("page", "1-based page", "integer", minimum=1),
         _q("limit", "items per page", "integer", minimum=1, maximum=200)]

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/me": {"get": {"summary": "The token's user", "operationId": "me",
                           "responses": _ok({"type": "object", "properties": {
                               "username": {"type": "string"}, "role": {"type": "string"}}})}},
    "/api/v1/weeks": {"get": {"summary": "Weeks with a ranking, newest first",
                              "operationId": "listWeeks",
                              "responses": _ok({"type": "object", "properties": {
                                  "weeks": {"type": "array", "items": {"type": "string"}}}})}},
    "/api/v1/rankings": {"get": {
        "summary": "Weekly ranking of topics", "operationId": "getRanking",
        "parameters": [_WEEK, *_RANK_FILTERS, _q("limit", "top N", "integer", minimum=1)],
        "responses": _ok({"$ref": "#/components/schemas/Ranking"})}},
    "/api/v1/rankings/policies": {"get": {
        "summary": "Weekly ranking of policies", "operationId": "getPolicyRanking",
        "parameters": [_WEEK],
        "responses": _ok({"type": "object", "properties": {
            "week": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object"}}}})}},
    "/api/v1/topics": {"get": {
        "summary": "Canonical topics, largest first", "operationId": "listTopics",
        "parameters": [*_PAGE, _q("q", "label contains"),
                       _q("include_hidden", "include hidden and merged topics", enum=["1"])],
        "responses": _ok({"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Topic"}},
            "pagination": {"$ref": "#/components/schemas/Pagination"}}})}},
    "/api/v1/topics/{topic_id}": {"get": {
        "summary": "A topic with trend, breakdown, drivers, policies and examples",
        "operationId": "getTopic", "parameters": [_path_id("topic_id"), _WEEK],
        "responses": _ok({"$ref": "#/components/schemas/TopicDetail"})}},
    "/api/v1/topics/{topic_id}/rename": {"post": {
        "summary": "Rename a topic (analyst)", "operationId": "renameTopic",
        "parameters": [_path_id("topic_id")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["label"],
            "properties": {"label": {"type": "string", "maxLength": 200}}}}}},
        "responses": _ok({"$ref": "#/components/schemas/Topic"})}},
    "/api/v1/verbatims": {"get": {
        "summary": "Search verbatims (newest first, cursor pagination)",
        "operationId": "searchVerbatims",
        "parameters": [*_VERBATIM_FILTERS, _q("cursor", "next_cursor of the previous page"),
                       _q("limit", "items per page", "integer", minimum=1, maximum=200)],
        "responses": _ok({"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Verbatim"}},
            "next_cursor": {"type": "string", "nullable": True},
            "next": {"type": "string", "nullable": True}}})}},
    "/api/v1/verbatims/{feedback_id}": {"get": {
        "summary": "One verbatim", "operationId": "getVerbatim",
        "parameters": [_path_id("feedback_id")],
        "responses": _ok({"$ref": "#/components/schemas/Verbatim"})}},
}

_NUM = {"type": "number", "nullable": True}
_STRS = {"type": "array", "items": {"type": "string"}}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "Pagination": {"type": "object", "properties": {
        "page": {"type": "integer"}, "limit": {"type": "integer"}, "total": {"type": "integer"},
        "pages": {"type": "integer"}, "next": {"type": "string", "nullable": True},
        "prev": {"type": "string", "nullable": True}}},
    "RankingItem": {"type": "object", "properties": {
        "rank": {"type": "integer"}, "topic_id": {"type": "integer"}, "label": {"type": "string"},
        "score": {"type": "number"}, "volume": {"type": "integer"}, "baseline": _NUM,
        "change": _NUM, "flags": _STRS, "negative_share": _NUM, "csat": _NUM, "markets": _STRS,
        "reasons": _STRS, "rank_change": {"type": "integer", "nullable": True},
        "sparkline": {"type": "array", "items": {"type": "number"}},
        "examples": {"type": "array", "items": {"type": "object", "properties": {
            "source": {"type": "string"}, "id": {"type": "string"}}}}}},
    "Ranking": {"type": "object", "properties": {
        "week": {"type": "string"}, "filters": {"type": "object"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/RankingItem"}}}},
    "Topic": {"type": "object", "properties": {
        "id": {"type": "integer"}, "label": {"type": "string"},
        "generated_label": {"type": "string"}, "keywords": _STRS, "size": {"type": "integer"},
        "status": {"type": "string"}, "hidden": {"type": "boolean"},
        "merged_into_id": {"type": "integer", "nullable": True},
        "first_seen": {"type": "string", "format": "date-time", "nullable": True},
        "last_seen": {"type": "string", "format": "date-time", "nullable": True},
        "lineage": {"type": "array", "items": {"type": "object"}}}},
    "TopicDetail": {"allOf": [{"$ref": "#/components/schemas/Topic"}, {"type": "object",
                    "properties": {
                        "week": {"type": "string", "nullable": True},
                        "trend": {"type": "array", "items": {"type": "object"}},
                        "breakdown": {"type": "object"}, "drivers": {"type": "object"},
                        "policies": {"type": "array", "items": {"type": "object"}},
                        "examples": {"type": "array",
                                     "items": {"$ref": "#/components/schemas/Verbatim"}}}}]},
    "Verbatim": {"type": "object", "properties": {
        "id": {"type": "integer"}, "source": {"type": "string"},
        "external_id": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "kind": {"type": "string"},
        "channel": {"type": "string", "nullable": True},
        "market": {"type": "string", "nullable": True},
        "language": {"type": "string", "nullable": True},
        "csat": {"type": "integer", "nullable": True}, "nps": {"type": "integer", "nullable": True},
        "escalated": {"type": "boolean", "nullable": True},
        "resolved": {"type": "boolean", "nullable": True},
        "sla_breached": {"type": "boolean", "nullable": True},
        "product_area": {"type": "string", "nullable": True}, "tags": _STRS,
        "sentiment": {"type": "string", "nullable": True}, "sentiment_score": _NUM,
        "topic_id": {"type": "integer", "nullable": True},
        "pain_quote": {"type": "string", "nullable": True},
        "text": {"type": "string", "description": "redacted text"}}},
}


def build_document(extra_paths: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The full OpenAPI document, including operations other areas registered."""
    paths = {p: dict(ops) for p, ops in PATHS.items()}
    for path, ops in (extra_paths or {}).items():
        paths.setdefault(path, {}).update(ops)
    paths["/api/v1/openapi.json"] = {"get": {
        "summary": "This document", "operationId": "openapi", "security": [],
        "responses": {"200": {"description": "OpenAPI 3 document"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "voc API", "version": "1.0.0",
                 "description": "Weekly rankings of customer-feedback topics, topics and "
                                "verbatim search. Authenticate with `Authorization: Bearer "
                                "<token>` (`python -m voc users token NAME`). Errors always "
                                "have the body {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": {"Error": {"description": "Error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
