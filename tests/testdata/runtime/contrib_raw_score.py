"""@rawhttp through the legacy azureml.contrib.services paths: binary, headers, streaming."""

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request: AMLRequest):
    mode = request.args.get("mode", "echo")
    if mode == "echo":
        resp = AMLResponse(request.get_data(), 200, {"X-Echo-Method": request.method})
        resp.mimetype = "application/octet-stream"
        return resp
    if mode == "info":
        return {
            "method": request.method,
            "path": request.path,
            "full_path": request.full_path,
            "url": request.url,
            "args": request.args.to_dict(flat=False),
            "json": request.get_json(silent=True),
            "content_type": request.content_type,
            "header": request.headers.get("x-custom"),
            "data_len": len(request.data),
        }
    if mode == "headers":
        return AMLResponse("ok", 201, {"X-Multi": "a, b,c", "Content-Type": "text/plain"})
    if mode == "json":
        return AMLResponse({"k": [1, 2]}, 202, json_str=True)
    if mode == "none":
        return AMLResponse(None, 200)
    if mode == "fail":
        return AMLResponse("custom failure", 503)
    if mode == "stream":

        def gen():
            for i in range(5):
                yield f"chunk{i};"

        return AMLResponse(gen(), 200, {"Content-Type": "text/plain"})
    return AMLResponse("unknown mode", 400)
