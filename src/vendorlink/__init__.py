"""vendorlink: link online advertisements to the vendors behind them, from text and images."""

__version__ = "0.1.0"
