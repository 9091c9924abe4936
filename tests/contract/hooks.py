"""schemathesis hooks of the contract run: remote_write bodies are bytes
(application/x-protobuf), sent as generated; the server must refuse what is not a
snappy-framed WriteRequest with a documented 4xx."""

import schemathesis
from schemathesis.transport.serialization import serialize_binary


@schemathesis.serializer("application/x-protobuf")
def protobuf(ctx, value):
    return {"data": serialize_binary(value)}
