"""Upper bounds on every list a request carries (issue #17): far beyond what a real order or
customer has, low enough that one request can never tie up a worker. The API states them in
its schema (maxItems) and answers 422 past them; the web forms refuse them with a message.

Measured on the base: a 40-row order saves in well under a second and its protocol renders
in about 0.5 s; 500 article rows is a dozen such orders in one."""

from __future__ import annotations

MAX_ACTIONS = 200
MAX_ARTICLE_ROWS = 500
MAX_SERVICE_OBJECTS = 100
MAX_CONTACTS = 50
MAX_CUSTOM_FIELDS = 50
