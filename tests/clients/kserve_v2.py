"""Run by the tests with the `kserve` SDK's own virtualenv: its V2 REST client against a server.

python kserve_v2.py BASE_URL MODEL REQUEST.json   → prints a JSON report on standard output
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


async def main(base_url: str, model: str, request_file: str) -> None:
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
    spec = json.loads(Path(request_file).read_text())
    inputs = [
        InferInput(name=t["name"], shape=t["shape"], datatype=t["datatype"], data=t["data"]) for t in spec["inputs"]
    ]
    response = await client.infer(base_url, InferRequest(model_name=model, infer_inputs=inputs), model_name=model)
    report = {
        "live": await client.is_server_live(base_url),
        "ready": await client.is_server_ready(base_url),
        "model_ready": await client.is_model_ready(base_url, model),
        "outputs": {o.name: o.data for o in response.outputs},
    }
    await client.close()
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
