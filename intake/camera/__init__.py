"""AI street cameras: signed alerts at POST /api/v1/camera-alerts become (merged) camera reports."""
