"""Open311 GeoReport v2 under /open311/v2/: other civic apps report to us in the common standard."""
