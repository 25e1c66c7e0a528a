"""Text (and location) → category and grid, each with a confidence. Depends only on the `cases` kernel."""
