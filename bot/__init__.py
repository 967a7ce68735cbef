"""briefbot's edges: the command line and the Telegram bot."""
