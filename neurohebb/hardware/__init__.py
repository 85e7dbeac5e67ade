"""Hardware configs (``hardware_configs/*.yaml``): a target's arithmetic and capacity."""
from .config import HardwareConfig, available, json_schema, load_hardware

__all__ = ["HardwareConfig", "load_hardware", "available", "json_schema"]
