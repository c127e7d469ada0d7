"""RabbitMQ (AMQP) transport plugin for Skick: a real cluster of shards.

Installed with ``pip install "skick[amqp]"`` and chosen by the URL scheme::

    Skick(message_system="amqp://guest:guest@127.0.0.1:5672/?namespace=prod")

Every shard on the same broker and namespace joins one cluster: shard-addressed
messages travel as JSON batches through one queue per shard, membership by
heartbeats on a fanout exchange. See the package README for the topology, the
delivery guarantee (at most once, in order per sender/receiver pair) and the
failure model.
"""

from .__about__ import __version__
from ._codec import BATCH_TYPE, CONTENT_TYPE, MEMBER_TYPE
from ._membership import Membership
from ._options import AmqpSettings
from ._transport import AmqpError, AmqpTransport

__all__ = [
    "BATCH_TYPE",
    "CONTENT_TYPE",
    "MEMBER_TYPE",
    "AmqpError",
    "AmqpSettings",
    "AmqpTransport",
    "Membership",
    "__version__",
]
