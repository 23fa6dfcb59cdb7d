"""gunicorn's settings for Ordna, read by the production command from the checkout
(`gunicorn -w 4 -b 0.0.0.0:8000 wsgi:app`: gunicorn loads ./gunicorn.conf.py by itself).
Options given on the command line win over these.

- The access log goes to standard output in the combined format, through a logger that
  replaces the OAuth callback's `code` and `state` (and any token-like query value) with
  `[redacted]` (app/logredact.py): the log never keeps a secret.
- A worker stuck on one request is restarted after 30 s; a stopping worker gets 20 s to
  finish its request (README "Production set-up")."""

accesslog = "-"
errorlog = "-"
logger_class = "app.logredact.RedactingGunicornLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

timeout = 30
graceful_timeout = 20
