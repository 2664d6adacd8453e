def init():
    pass


def run(data, request_headers):
    return {
        "data": data,
        "custom": request_headers.get("X-Custom"),
        "names": sorted(request_headers),
    }
