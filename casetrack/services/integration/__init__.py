"""What goes in and out: webhooks and their outbox, HTTP to typed addresses, mail, spreadsheets."""
