"""The studio: a web UI for endpoints, deployments, traffic, metrics, logs, jobs and cost.

Served by the control plane under ``/studio`` (``switchman.studio.web``); see docs/studio.md.
"""
