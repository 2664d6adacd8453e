"""The floor: a raw ASGI app on uvicorn + uvloop + httptools that answers a fixed JSON body."""

import sys

import uvicorn

BODY = b'{"predictions": [10, 10]}'


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


uvicorn.run(
    app,
    host="127.0.0.1",
    port=int(sys.argv[1]),
    loop="uvloop",
    http="httptools",
    log_level="warning",
    access_log=False,
)
