"""The supervisors' dashboard figures: intake by channel, category group, street, community and grid, and
the 三率 (with 退单率, 重开率, 延期率) per department and per street.

- `rates.py`: the counters of one slice and the rates' definitions (pure);
- `facts.py`: a time range's counters computed directly from cases, clocks and events (indexed range
  queries, portable SQL): what the aggregates hold per day, and today's live figures;
- `models.py` + `refresh.py`: the per-day aggregate tables and the periodic job that keeps them (only the
  days that changed, exactly once across workers);
- `read.py`: the dashboard's read model (history from the aggregates, today live), and `monthly.py` the
  monthly per-department 考核表.
"""
