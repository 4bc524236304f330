"""The continuous monitor: a feed of tweets followed, scored, stored, and turned into alerts that reach people.

A use case above core.inference (it scores with core.inference.scorers and reads with core.data):
  rules     the alert settings (threshold, minimum volume, window, spike, cool-down; per group)
  groups    pure pandas: negative share and volume per group and window, which windows break a rule
  store     SQLite (WAL): tweets, alerts and their deliveries, source offsets; idempotent by source key
  records   what a source hands in (CSV file, JSON lines, HTTP payload) as rows to store, every record counted
  sources   a folder where files land, a file that grows (tailed by offset)
  http_api  POST /tweets with a bearer token (standard library server)
  scoring   the pending tweets scored in batches with a run
  alerts    rules evaluated on the stored data, an alert once per group and episode, deliveries retried
  channels  webhook (Slack / Teams JSON) and e-mail (SMTP)
  feed      read-only queries behind the dashboard's live view
  watch     `python -m core.commands.watch`: the loop that ties them together
"""
