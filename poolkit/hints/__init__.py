"""Staged hints, one TOML file per lesson (read by :mod:`poolkit.checks.hints`)."""
