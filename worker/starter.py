"""The commented starter config that `policywatch init` writes."""

STARTER_CONFIG = """\
# policywatch configuration. Check it with: policywatch check-config --config policywatch.yaml
# Secrets are never written here: write ${NAME} and set NAME in the environment.

# Where state lives: a SQLite file (relative to the working folder) or redis://host:6379/0.
state: sqlite:///policywatch.db

# Optional: skip items older than this on every feed (30m, 12h, 7d). Off by default, so the
# first poll of a new feed alerts on everything it finds that matters.
# max_age: 3d

watchlists:
  - name: semis
    # Symbols from the built-in directory (any US ticker works; curated companies score best).
    tickers: [NVDA, AMD, TSM, ASML, AMAT, LRCX, KLAC, MU, 005930.KS, 000660.KS, 8035.T]
    # Your own companies: symbol -> names and aliases.
    # companies:
    #   XYZ: {name: "Xyz Corp", aliases: ["XyzChip", "Xyz Inc"]}
    min_score: 60          # 0-100; an alert fires at this score or above
    notify: [console]      # channel names from `channels:` below

feeds:
  - name: bis-press
    url: https://www.bis.gov/rss.xml
    every: 15m             # 30s, 5m, 1h ...
  # - name: local-archive
  #   url: ./news/archive.jsonl   # a path or file:// URL: RSS, Atom or JSON Lines

channels:
  console:
    type: console
  # desk-slack:
  #   type: slack
  #   url: ${SLACK_WEBHOOK_URL}
  # desk-webhook:
  #   type: webhook
  #   url: ${DESK_WEBHOOK_URL}
  #   secret: ${DESK_WEBHOOK_SECRET}   # whsec_...: Standard Webhooks signature
  # morning-mail:
  #   type: email
  #   host: smtp.example.com
  #   port: 587
  #   tls: starttls        # starttls, implicit (port 465) or none
  #   username: ${SMTP_USER}
  #   password: ${SMTP_PASSWORD}
  #   from: policywatch@example.com
  #   to: [desk@example.com]
  #   mode: digest         # one message per schedule instead of one per alert
  #   schedule: weekdays 08:00   # or daily 08:00, hourly, a cron line "0 8 * * 1-5"
  #   timezone: America/New_York
  #   unsubscribe_url: https://example.com/unsubscribe   # List-Unsubscribe header
  # Any channel can group bursts and keep quiet at night (alerts wait, never dropped):
  #   group_by: [watchlist]
  #   group_wait: 30s
  #   quiet_hours:
  #     times: [{start_time: "22:00", end_time: "07:00"}]
  #     breakthrough_score: 90
  # desk-discord:
  #   type: discord
  #   url: ${DISCORD_WEBHOOK_URL}
  # desk-teams:
  #   type: teams          # a Workflows webhook URL, not a legacy webhook.office.com one
  #   url: ${TEAMS_WORKFLOW_URL}
  # phone:
  #   type: apprise        # pip install 'policywatch[apprise]'
  #   url: ${APPRISE_URL}  # e.g. tgram://BOT_TOKEN/CHAT_ID, ntfy://topic

# delivery:                # retries: exponential backoff with jitter, then DEAD
#   max_attempts: 8
#   backoff_base_s: 5s
#   backoff_max_s: 1h
#   max_age: 1d
"""
