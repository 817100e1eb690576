"""The icv-permits terminal app: ``icv-permits tui``. See docs/tui.md."""
