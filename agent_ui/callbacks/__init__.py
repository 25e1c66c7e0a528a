"""`/console/callbacks`: the 回访 worklist, the scripted survey, click-to-call and tries that reached nobody."""
