"""Releases: cutting one from roost.yaml (config snapshot, pinned secrets), mapping one to a
revision spec, and the scan of a release that the scan guard judges."""
