"""``python -m switchman.runtime --host 127.0.0.1 --port P``: one instance of a deployment."""

from switchman.runtime.server import main

raise SystemExit(main())
