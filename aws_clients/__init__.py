"""AWS sessions and clients, made one way for the whole project: the local cloud's credentials, endpoint
and environment variables, and a thread-safe cache of one client per service.

A leaf: it imports nothing of the project, and boto3 only when a session or client is first made (the
local cloud imports this before its AWS process is started, and start-up time counts).
"""

from aws_clients.cache import ClientCache, local_session, session_with
from aws_clients.credentials import LOCAL_CREDENTIALS, endpoint_environment, isolated_environment

__all__ = ["LOCAL_CREDENTIALS", "ClientCache", "endpoint_environment", "isolated_environment", "local_session",
           "session_with"]
