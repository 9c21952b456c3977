"""The tamper-evident log: every audited change is an event whose hash covers the one before."""
