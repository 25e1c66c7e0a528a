"""Text (and location) → category and grid, each with a confidence. Depends only on the `cases` kernel.

Two halves: `serving/` (what classifies a report) and `training/` (what makes a model); training may use
serving, never the other way round. Shared by both, at this level: the types (`base`), segmentation
(`tokenizer`, `segment`: saved models name `classifiers.tokenizer`'s functions by that dotted path, so it
does not move), the data files (`data/`) and the shipped default model (`models/default/`)."""
