"""Data files of the accounting engine: factor sets and sample inventories."""
