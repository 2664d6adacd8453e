"""Safe rollout beyond Azure ML: answer agreement, replay, and gated progressive rollout.

Pure decision code lives here (``agreement``, ``gate``, ``plan``); the control plane's driver
(``switchman.controlplane.rollout``) and the router's tap (``switchman.dataplane.tap``) apply it.
"""
