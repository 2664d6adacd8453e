"""@rawhttp through azureml_inference_server_http.api: multipart uploads and binary replies."""

from azureml_inference_server_http.api.aml_request import AMLRequest, rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(req: AMLRequest):
    if req.path == "/score" and req.args.get("single"):
        try:
            upload = req.files.getlist("file")[0]
        except IndexError:
            return AMLResponse("No file uploaded", status_code=422)
        resp = AMLResponse(message=upload.stream.read()[::-1], status_code=200)
        resp.mimetype = "image/jpg"
        return resp
    files = req.files.getlist("file[]")
    return {
        "response": [{"filename": f.filename, "size": len(f.stream.read())} for f in files],
        "form": req.form.to_dict(),
    }
