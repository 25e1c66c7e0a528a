"""Supervisors' pages: the working calendar, 督办 cards, 延期 requests to approve or refuse, and 审定 of cases
returned twice."""
