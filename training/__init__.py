"""Building models offline (`steward moderate train`, `make model`): needs the [train] extra.
The daemon never imports this package."""
