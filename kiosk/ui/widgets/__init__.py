"""Reusable touch widgets: keypad, camera preview with overlay, QR code."""
