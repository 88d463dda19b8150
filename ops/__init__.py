"""Operating the Wild Rydes stack, local or deployed: plain, tested functions behind the `wildrydes` CLI.

Every command first resolves a target (ops/target.py): the stack outputs of a deployed stack from
CloudFormation, or of the local cloud from `.local/endpoints.json`. Nothing here names a queue, table or
function: services are discovered from the outputs (ops/services.py). This package never imports the
local cloud (`local/`): it talks to it only through its public AWS endpoint and API, like any client.
"""
