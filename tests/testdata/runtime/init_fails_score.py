def init():
    raise ValueError("bad model path")


def run(data):
    return data
