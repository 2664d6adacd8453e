"""Reports which interpreter and which idna it runs with (idna is pinned by the environment)."""

import json
import sys

import idna


def init():
    pass


def run(raw_data):
    return {"idna": idna.__version__, "prefix": sys.prefix}
