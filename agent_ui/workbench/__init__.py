"""The agents' workbench: the queue, the case page, cases typed on the phone, taking calls."""
