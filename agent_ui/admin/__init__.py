"""The administrator's pages: people's accounts (the same use cases as `hotline users`)."""
