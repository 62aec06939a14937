"""/v1/health: whether this server can answer, for a load balancer or an operator."""

from flask import request
from flask.views import MethodView
from flask_smorest import abort

from api.web import envelopes
from api.web.blueprint import OK_HEADERS, CivicBlueprint, documents_errors
from api.web.dataset import current_dataset
from api.web.replication import database_state
from api.web.resources.index import NO_PARAMS
from api.web.responses import JSON, negotiate

blp = CivicBlueprint("health", __name__, url_prefix="/v1", description="Whether this server can answer, and how current its data is.")


@blp.route("/health")
class Health(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.response(200, envelopes.HealthSchema, headers=OK_HEADERS)
    @blp.doc(operationId="getHealth")
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """Health check

        200 when this server can read a loaded dataset from its database and, if that database
        is a replica, it lags its primary by no more than the server's bound
        (`CIVICFACTS_MAX_REPLICA_LAG` seconds); 503 otherwise, saying why. A replica that has
        replayed all the WAL it received is caught up (lag 0), however long ago the last write was.
        """
        negotiate([JSON])
        dataset = current_dataset()
        database, lagging = database_state()
        if lagging:
            lag, bound = database["lag_seconds"], database["max_lag_seconds"]
            abort(503, message=f"This server's replica is {lag:.1f} s behind its primary (at most {bound:g} s allowed).")
        return {
            "data": {
                "status": "ok",
                "dataset": {"version": dataset.version, "loaded_at": dataset.loaded_at.isoformat() + "Z"},
                "database": database,
            },
            "links": {"self": request.base_url},
        }
