"""API Gateway's REST API front door, as the local cloud serves it: the routes and Lambda proxy integrations
of the template, and the answers API Gateway gives on its own (403, 413, 429, 5xx).

AWS documents these in the API Gateway developer guide: "Set up Lambda proxy integrations", "API Gateway
quotas" and "Gateway responses".
"""
