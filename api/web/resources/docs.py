"""The contract and its docs: /v1/openapi.json, /v1/openapi.yaml and /docs (Swagger UI,
its assets served from the flask-swagger-ui package so the page works with no internet)."""

import functools
import hashlib
import pathlib

import flask_swagger_ui
from flask import Response, current_app
from flask.views import MethodView

from api.web.blueprint import OK_HEADERS, CivicBlueprint, documents_errors
from api.web.openapi import spec_json, spec_yaml
from api.web.params import StrictQuerySchema
from api.web.responses import negotiate

blp = CivicBlueprint("docs", __name__, description="The OpenAPI contract and interactive documentation.")
ASSETS = pathlib.Path(flask_swagger_ui.__file__).parent / "dist"
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
SCRIPT_NAME = "docs.js"
ASSET_NAMES = sorted([SCRIPT_NAME, *(p.name for p in ASSETS.iterdir() if p.suffix in ASSET_TYPES)])
NO_PARAMS = type("DocsQuerySchema", (StrictQuerySchema,), {})
JSON = "application/json"
YAML = "application/yaml"
HTML = "text/html"
TEXT = "text/plain"
# An icon is bytes, not text: OpenAPI 3.1 describes binary content by its media type alone.
SCHEMAS = {JSON: {"type": "object"}, YAML: {"type": "object"}, "image/png": {"contentMediaType": "image/png"}}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>civicfacts API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/docs.js"></script>
</body>
</html>
"""
SCRIPT = """window.ui = SwaggerUIBundle({url: "/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true});\n"""


def ok(description, media_types):
    """A documented 200 with these media types: the contract is an object (in JSON or YAML), the rest text."""
    content = {media: {"schema": SCHEMAS.get(media, {"type": "string"})} for media in media_types}
    return {200: {"description": description, "content": content, "headers": OK_HEADERS}}


def contract(kind):
    """The spec as served, rendered once per app (it cannot change while the app runs)."""
    cache = current_app.extensions.setdefault("civicfacts_contract", {})
    if kind not in cache:
        cache[kind] = spec_json(current_app) if kind == JSON else spec_yaml(current_app)
    return cache[kind]


@blp.route("/v1/openapi.json")
class OpenapiJson(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getOpenapiJson")
    @blp.doc(responses=ok("The OpenAPI 3.1 document, as JSON", [JSON]))
    @documents_errors(blp, 304, 406)
    def get(self, args):
        """The contract, as JSON

        The same document as openapi.yaml in the repository.
        """
        negotiate([JSON])
        return Response(contract(JSON), mimetype=JSON)


@blp.route("/v1/openapi.yaml")
class OpenapiYaml(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getOpenapiYaml")
    # As text/plain too: generators know text/* as text, and not application/yaml.
    @blp.doc(responses=ok("The OpenAPI 3.1 document, as YAML", [YAML, TEXT]))
    @documents_errors(blp, 304, 406)
    def get(self, args):
        """The contract, as YAML

        Byte for byte the openapi.yaml committed in the repository.
        """
        return Response(contract(YAML), mimetype=negotiate([YAML, TEXT]))


@blp.route("/docs")
class Docs(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=ok("Interactive documentation (Swagger UI)", [HTML]))
    @documents_errors(blp, 304, 406)
    def get(self, args):
        """Interactive documentation

        Swagger UI over /v1/openapi.json; every asset is served from here, none from the internet.
        """
        negotiate([HTML])
        return Response(PAGE, mimetype=HTML)


@blp.route("/docs/<any({}):asset>".format(", ".join(f'"{name}"' for name in ASSET_NAMES)))
class DocsAsset(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=ok("A Swagger UI asset (script, style sheet or icon)", sorted(set(ASSET_TYPES.values()))))
    @documents_errors(blp, 304, 406)
    def get(self, args, asset):
        """A documentation asset

        One of the Swagger UI files the docs page loads.
        """
        media = ASSET_TYPES[pathlib.PurePath(asset).suffix]
        negotiate([media])
        body, etag = asset_bytes(asset)
        response = Response(body, mimetype=media)
        response.set_etag(etag)
        return response


@functools.cache
def asset_bytes(name):
    """An asset's bytes and their entity tag, read once. Served from memory rather than with
    send_file, so no file handle outlives a request and no Range request gets an undocumented 206."""
    body = SCRIPT.encode() if name == SCRIPT_NAME else (ASSETS / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]
