"""The airport side: flights, bookings, boarding passes and the three touchpoints."""
