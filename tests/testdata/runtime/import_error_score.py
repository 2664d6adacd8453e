import switchman_no_such_module_for_tests  # noqa: F401


def init():
    pass


def run(data):
    return data
