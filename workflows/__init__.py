"""One module per process; each reads like the process it models."""

from workflows.activation import ActivationWorkflow

ALL_WORKFLOWS = [ActivationWorkflow]
