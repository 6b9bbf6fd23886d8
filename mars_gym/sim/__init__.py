"""Event-driven market simulation: background flows and order routing onto lob_core."""
