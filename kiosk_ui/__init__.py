"""The touchscreen kiosk (served at /kiosk): the browser check-in flow."""
