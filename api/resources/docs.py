"""The contract and its docs: /v1/openapi.json, /v1/openapi.yaml and /docs (Swagger UI,
its assets served from the flask-swagger-ui package so the page works with no internet)."""

import pathlib

import flask_swagger_ui
from flask import Response, current_app, send_from_directory
from flask.views import MethodView

from api.resources.collection import CivicBlueprint, abort, documents_errors
from api.schemas import StrictQuerySchema
from api.spec import spec_json, spec_yaml

blp = CivicBlueprint("docs", __name__, description="The OpenAPI contract and interactive documentation.")
ASSETS = pathlib.Path(flask_swagger_ui.__file__).parent / "dist"
ASSET_NAMES = sorted(p.name for p in ASSETS.iterdir() if p.suffix in {".js", ".css", ".png"})
NO_PARAMS = type("DocsQuerySchema", (StrictQuerySchema,), {})
TEXT = {"content": {"text/html": {"schema": {"type": "string"}}}}

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


@blp.route("/v1/openapi.json")
class OpenapiJson(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.response(200, description="The OpenAPI 3.1 document, as JSON")
    @documents_errors(blp, 304)
    def get(self, args):
        """The contract, as JSON

        The same document as openapi.yaml in the repository.
        """
        return Response(spec_json(current_app), mimetype="application/json")


@blp.route("/v1/openapi.yaml")
class OpenapiYaml(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.response(200, description="The OpenAPI 3.1 document, as YAML", content_type="application/yaml")
    @documents_errors(blp, 304)
    def get(self, args):
        """The contract, as YAML

        Byte for byte the openapi.yaml committed in the repository.
        """
        return Response(spec_yaml(current_app), mimetype="application/yaml")


@blp.route("/docs")
class Docs(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses={200: {"description": "Interactive documentation (Swagger UI)", **TEXT}})
    @documents_errors(blp, 304)
    def get(self, args):
        """Interactive documentation

        Swagger UI over /v1/openapi.json; every asset is served from here, none from the internet.
        """
        return Response(PAGE, mimetype="text/html")


@blp.route("/docs/<string:asset>")
class DocsAsset(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses={200: {"description": "A Swagger UI asset (script, style sheet or icon)", "content": {"*/*": {"schema": {"type": "string"}}}}, 404: {"$ref": "#/components/responses/NOT_FOUND"}})
    def get(self, args, asset):
        """A documentation asset

        One of the Swagger UI files the docs page loads.
        """
        if asset == "docs.js":
            return Response(SCRIPT, mimetype="text/javascript")
        if asset not in ASSET_NAMES:
            abort(404, message=f"There is no documentation asset {asset!r}.")
        return send_from_directory(ASSETS, asset, max_age=86400)
