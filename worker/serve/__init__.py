"""`policywatch serve`: items pushed over HTTP (POST /v1/items) into the same pipeline.

body.py     a request body → validated Items, all or nothing (RejectedBody otherwise)
server.py   the HTTP server: bearer tokens, size limit, media types, answers
"""

from __future__ import annotations

from worker.serve.body import RejectedBody, items_from_body
from worker.serve.server import IngestServer, pipeline_acceptor

__all__ = ["IngestServer", "RejectedBody", "items_from_body", "pipeline_acceptor"]
