"""``azureml.ai.monitoring.context``: correlation contexts."""

from switchman.runtime.collector import BasicCorrelationContext, CorrelationContext

__all__ = ["BasicCorrelationContext", "CorrelationContext"]
