"""`/supervisor/`: supervisors' decisions — 延期 requests to approve or refuse, and 审定 of cases returned twice."""
