"""Open311 keys are the general API keys with the `open311` scope (intake.apikeys); kept for importers."""

from intake.apikeys import check_key, create_key, hash_key, list_keys, revoke_key

__all__ = ["check_key", "create_key", "hash_key", "list_keys", "revoke_key"]
