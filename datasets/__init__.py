"""Data files bundled with tsgate, installed as `tsgate.bundled`; see README.md."""
