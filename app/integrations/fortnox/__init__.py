"""The Fortnox integration: settings, order snapshots, mapping, client, sync and send.

Kept free of imports so that importing one part (e.g. the pure mapping) never pulls in Flask,
the database or HTTP code.
"""
