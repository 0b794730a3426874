"""Click commands, one module per command family; each only parses, calls, renders, exits."""
