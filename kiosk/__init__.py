"""Kiosk capture station."""
