"""A stand-in instance for router tests: an ASGI app on uvicorn, driven by the request body.

Body JSON keys: "sleep" (seconds before answering), "status" (HTTP status to answer), "echo".
Every /score call appends its x-request-id to --calls (one line per run() execution), so tests can
prove a request never ran twice. GET /stats reports the peak concurrency seen.
"""

import argparse
import asyncio
import json

import uvicorn

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--id", required=True)
parser.add_argument("--calls", required=True)
parser.add_argument("--delay", type=float, default=0.0)
args = parser.parse_args()

state = {"active": 0, "peak": 0, "count": 0}


async def body_of(receive):
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_json(send, status, payload, reason_headers=()):
    data = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"x-instance", args.id.encode()),
        *reason_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = await body_of(receive)
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    if path == "/":
        await send_json(send, 200, "Healthy")
        return
    if path == "/stats":
        await send_json(send, 200, state)
        return
    if path == "/swagger.json":
        await send_json(
            send,
            200,
            {"swagger": "2.0", "instance": args.id, "query": scope["query_string"].decode()},
        )
        return
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    with open(args.calls, "a") as handle:
        handle.write(headers.get("x-request-id", "-") + "\n")
    state["active"] += 1
    state["count"] += 1
    state["peak"] = max(state["peak"], state["active"])
    try:
        delay = float(payload.get("sleep") or 0) + args.delay
        if delay:
            await asyncio.sleep(delay)
        status = int(payload.get("status", 200))
        answer = {
            "instance": args.id,
            "echo": payload.get("echo"),
            "headers": {
                k: v
                for k, v in headers.items()
                if k
                in (
                    "authorization",
                    "x-request-id",
                    "x-ms-client-request-id",
                    "azureml-model-deployment",
                )
            },
        }
        if status != 200:
            answer = {"error": f"model failed on purpose with {status}"}
        await send_json(send, status, answer)
    finally:
        state["active"] -= 1


uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_keep_alive=5)
