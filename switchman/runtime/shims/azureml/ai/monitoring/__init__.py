"""``azureml-ai-monitoring``'s ``Collector`` (custom logging), served by Switchman."""

from switchman.runtime.collector import BasicCorrelationContext, Collector, CorrelationContext

__all__ = ["BasicCorrelationContext", "Collector", "CorrelationContext"]
