"""The icv-permits terminal app (issue #6): ``icv-permits tui``. See docs/tui.md."""
