"""seaembed: multilingual embedding models for Southeast Asian e-commerce, from catalog to served model."""

__version__ = "0.1.0"

PACKAGED_E5 = "packaged:multilingual-e5-small"
