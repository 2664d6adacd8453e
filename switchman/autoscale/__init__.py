"""Autoscale as Azure Monitor does it (issue #12): settings as data, a pure decision, an applier.

- :mod:`switchman.autoscale.grammar` parses ``az monitor autoscale`` flags (conditions, scale
  actions, durations, time zones, recurrences) into the camelCase JSON of an autoscale setting.
- :mod:`switchman.autoscale.setting` builds and edits that JSON and turns it into typed objects.
- :mod:`switchman.autoscale.policy` decides the instance count (pure, fake-clock tested).
- :mod:`switchman.autoscale.table` keeps settings, their state and history in ``state.db``.
- :mod:`switchman.autoscale.metricsource` reads the fine-grain metric windows the rules need.
- :mod:`switchman.autoscale.applier` runs in the control plane and applies decisions.
"""
